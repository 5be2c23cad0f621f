#!/usr/bin/env bash
# Builds the DocC archives of FrameSequencing and Recurrent with the toolchain's
# docc (no plugin, no dependency) and fails on any warning: a broken symbol link,
# an undocumented parameter, a topic that names nothing. The symbol graphs come
# from the compiler (`swift package dump-symbol-graph` drops the umbrella's
# re-exports), in a scratch directory of their own because the flags force a
# rebuild. Output: .build/docs/<Module>.doccarchive.
set -euo pipefail
cd "$(dirname "$0")/.."
docc=$(command -v docc || echo "$(dirname "$(command -v swift)")/docc")
graphs=.build/docs/graphs
# The graphs stay between runs: a build that is up to date emits none, and they are
# still those of the current sources.
rm -rf .build/docs/*-graphs .build/docs/*.doccarchive
mkdir -p "$graphs"
for module in FrameSequencing Recurrent; do
    swift build --scratch-path .build/docs --target "$module" \
        -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$graphs" > /dev/null
    # The umbrella's graph already holds what it re-exports; Recurrent's extensions
    # of other modules' types (Recurrent@...) belong with it.
    mkdir -p ".build/docs/$module-graphs"
    cp "$graphs/$module.symbols.json" ".build/docs/$module-graphs/"
    cp "$graphs/$module@"*.symbols.json ".build/docs/$module-graphs/" 2>/dev/null || true
    "$docc" convert "Sources/$module/$module.docc" --additional-symbol-graph-dir ".build/docs/$module-graphs" \
        --fallback-display-name "$module" --fallback-bundle-identifier "org.frameseq.$module" \
        --output-path ".build/docs/$module.doccarchive" --warnings-as-errors > ".build/docs/$module.log" 2>&1 \
        || { grep -E -A3 "warning|error" ".build/docs/$module.log" | head -n 60; echo "docc: $module has warnings"; exit 1; }
    echo "docc: $module.doccarchive, no warnings"
done
