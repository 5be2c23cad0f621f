import Foundation
import FrameSequencing

/// Files written by numpy 2.4.6 and safetensors 0.8.0 (Python), stored as base64 so
/// the tests need no Python. Regenerate with:
///
/// ```python
/// import io, numpy as np
/// from numpy.lib import format as fmt
/// from safetensors.numpy import save
/// f4 = np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype='<f4')
/// f8 = np.array([np.pi, -np.e, 1e300], dtype='<f8')
/// u1 = np.arange(0, 256, 37, dtype=np.uint8).reshape(1, 7)
/// i8 = np.array([[-(2**62), 0], [5, 2**40]], dtype='<i8')
/// scalar, empty = np.array(2.5, dtype='<f4'), np.zeros((0, 3), dtype='<f8')
/// # npy: np.save(buffer, a); v2/v3: fmt.write_array(buffer, f4, version=(2, 0)) / (3, 0)
/// save({'weight': f4, 'bias': f8, 'pixels': u1, 'lengths': i8, 'empty': empty, 'scalar': scalar},
///      metadata={'suite': 'io', 'note': 'tiny "quoted" \u00e9'})
/// ```
enum IOFixtures {
    /// `<f4` shape (2, 3).
    static let numpyFloat32 = bytes(
        "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAg" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAUEAAAAAA" +
        "bxKDOgAA4MA=")
    /// `<f8` shape (3,).
    static let numpyFloat64 = bytes(
        "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAg" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoYLURU+yEJQGlXFIsKvwXA" +
        "nHUAiDzkN34=")
    /// `|u1` shape (1, 7).
    static let numpyUInt8 = bytes(
        "k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDcpLCB9ICAg" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAJUpvlLne")
    /// `<i8` shape (2, 2).
    static let numpyInt64 = bytes(
        "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAg" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAwAAAAAAAAAAA" +
        "BQAAAAAAAAAAAAAAAAEAAA==")
    /// `<f4` shape ().
    static let numpyScalar = bytes(
        "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAg" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAACBA")
    /// `<f8` shape (0, 3).
    static let numpyEmpty = bytes(
        "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDMpLCB9ICAg" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=")
    /// The float32 array written as format version 2.0.
    static let numpyVersion2 = bytes(
        "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMyksIH0g" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAUEAAAAAA" +
        "bxKDOgAA4MA=")
    /// The float32 array written as format version 3.0.
    static let numpyVersion3 = bytes(
        "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMyksIH0g" +
        "ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAUEAAAAAA" +
        "bxKDOgAA4MA=")
    /// All six arrays with metadata, from `safetensors.numpy.save`.
    static let safetensors = bytes(
        "qAEAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJzdWl0ZSI6ImlvIiwibm90ZSI6InRpbnkgXCJxdW90ZWRcIiDDqSJ9LCJsZW5n" +
        "dGhzIjp7ImR0eXBlIjoiSTY0Iiwic2hhcGUiOlsyLDJdLCJkYXRhX29mZnNldHMiOlswLDMyXX0sImJpYXMiOnsiZHR5cGUi" +
        "OiJGNjQiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlszMiw1Nl19LCJlbXB0eSI6eyJkdHlwZSI6IkY2NCIsInNoYXBl" +
        "IjpbMCwzXSwiZGF0YV9vZmZzZXRzIjpbNTYsNTZdfSwic2NhbGFyIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOltdLCJkYXRh" +
        "X29mZnNldHMiOls1Niw2MF19LCJ3ZWlnaHQiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzIsM10sImRhdGFfb2Zmc2V0cyI6" +
        "WzYwLDg0XX0sInBpeGVscyI6eyJkdHlwZSI6IlU4Iiwic2hhcGUiOlsxLDddLCJkYXRhX29mZnNldHMiOls4NCw5MV19fSAg" +
        "AAAAAAAAAMAAAAAAAAAAAAUAAAAAAAAAAAAAAAABAAAYLURU+yEJQGlXFIsKvwXAnHUAiDzkN34AACBAAADAPwAAAMAAAFBA" +
        "AAAAAG8SgzoAAODAACVKb5S53g==")

    private static func bytes(_ base64: String) -> [UInt8] {
        guard let data = Data(base64Encoded: base64) else { preconditionFailure("bad base64 fixture") }
        return [UInt8](data)
    }
}
