//! `file:` URIs and paths. Editors name documents by URI; the loader and discovery speak paths.
//! Percent-encoding is done here rather than with the `url` crate: `lsp-types` already carries
//! its own URI type, and a file path needs only the two directions below.

use std::path::{Path, PathBuf};

/// The `file://` URI of an absolute path: every byte but the unreserved ones and `/` encoded,
/// as VS Code writes them.
pub fn from_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("file://");
    // A Windows path (`C:/x`) needs the leading slash of a URI path.
    if !text.starts_with('/') {
        out.push('/');
    }
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of a `file:` URI; `None` for other schemes (`untitled:`) and remote hosts.
pub fn to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri
        .strip_prefix("file://")
        .or_else(|| uri.strip_prefix("FILE://"))?;
    let (host, path) = rest.split_at(rest.find('/')?);
    if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let decoded = percent_decode(path)?;
    // `/C:/x` on Windows is `C:/x`.
    let bytes = decoded.as_bytes();
    let windows =
        bytes.len() >= 3 && bytes[0] == b'/' && bytes[2] == b':' && bytes[1].is_ascii_alphabetic();
    if windows && cfg!(windows) {
        return Some(PathBuf::from(decoded[1..].replace('/', "\\")));
    }
    Some(PathBuf::from(decoded))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_paths_with_spaces_and_unicode() {
        let path = Path::new("/tmp/my topo/é#1.topology.yaml");
        let uri = from_path(path);
        assert_eq!(uri, "file:///tmp/my%20topo/%C3%A9%231.topology.yaml");
        assert_eq!(to_path(&uri).as_deref(), Some(path));
    }

    #[test]
    fn reads_what_editors_send() {
        assert_eq!(
            to_path("file://localhost/a/b.yaml"),
            Some(PathBuf::from("/a/b.yaml"))
        );
        assert_eq!(to_path("untitled:Untitled-1"), None);
        assert_eq!(to_path("file://server/share/x"), None);
        assert_eq!(to_path("file:///a/%zz"), None);
    }
}
