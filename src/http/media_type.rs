//! Media types as a Content-Type names them (RFC 9110 8.3.1), read by the `mediatype` crate.

use mediatype::MediaType;

/// The media type a Content-Type value names; `None` when it names none. A wildcard (`*/*`,
/// `text/*`) is a range for Accept, never the type of a body.
pub fn parse(content_type: &str) -> Option<MediaType<'_>> {
    MediaType::parse(content_type)
        .ok()
        .filter(|media| media.ty != "*" && media.subty != "*")
}

/// The lowercase `type/subtype` (any `+suffix` included) of a Content-Type, parameters
/// dropped; `None` when it names no media type.
pub fn essence(content_type: &str) -> Option<String> {
    parse(content_type.trim()).map(|media| media.essence().to_string().to_ascii_lowercase())
}

/// The value of a Content-Type's parameter (unquoted), the first when it is given twice;
/// names are case-insensitive.
pub fn parameter(content_type: &str, name: &str) -> Option<String> {
    let media = parse(content_type.trim())?;
    media
        .params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.unquoted_str().into_owned())
}
