#!/usr/bin/env bash
# Builds a package that depends on this one exactly as the README's "Use it from
# another package" block says: the block is pasted into a fresh Package.swift,
# beside a clone of this repository in a folder named FrameSequencing, and a
# main.swift uses both products.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/frameseq-downstream}"
rm -rf "$work"
mkdir -p "$work/Forecast/Sources/Forecast"
# The dependency is the committed tree (what a clone gets), not the working copy's build products.
git -C "$root" archive --format=tar --prefix=FrameSequencing/ HEAD | tar -x -C "$work"

block=$(awk '/^```swift package-manifest$/ { inside = 1; next } inside && /^```$/ { exit } inside { print }' "$root/README.md")
[ -n "$block" ] || { echo "README has no \`\`\`swift package-manifest block"; exit 1; }
{
    echo '// swift-tools-version:6.0'
    echo 'import PackageDescription'
    echo 'let package = Package('
    echo '    name: "Forecast",'
    echo '    platforms: [.macOS(.v15), .iOS(.v18)],'
    printf '%s\n' "$block" | sed 's/^/    /'
    echo ')'
} > "$work/Forecast/Package.swift"
cat > "$work/Forecast/Sources/Forecast/main.swift" <<'SWIFT'
import FrameSequencing
import Recurrent

let shape = try FrameShape(height: 8, width: 8, channels: 1)
let frames = try FrameStack(frames: (0 ..< 12).map { index in [Float](repeating: Float(index) / 12, count: 64) },
                            shape: shape)
let windows = try frames.windows(.nonOverlapping(length: 4))
let lstm = try LSTM(inputSize: 64, hiddenSize: 5, seed: 1)
let result = try lstm.forward(try windows.inputs())
print("downstream: windows \(try windows.inputs().shape), LSTM output \(result.output.shape)")
SWIFT
cd "$work/Forecast"
swift build 2>&1 | tail -n 3
swift run --skip-build Forecast
