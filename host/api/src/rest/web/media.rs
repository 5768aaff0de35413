//! Media types as OpenWhisk's HTTP layer (Pekko HTTP) reads them, for web actions (spec §4.2,
//! §4.3): which request and response bodies are JSON, form data, text, or binary (base64 in
//! `__ow_body`, base64-decoded from an `.http` result's `body`).
//!
//! Binary is Pekko's `MediaType.binary`: a media type Pekko registers is binary or not as
//! registered (every `image/*`, `audio/*`, `video/*`, `font/*`, `message/*` and `multipart/*`
//! is binary, `image/svg+xml` included; `text/*` and a few `application/*` types are text);
//! a type Pekko does not know is text only when the `Content-Type` names a `charset`. The one
//! simplification: an unknown subtype of the always-binary top-level types stays binary even
//! with a `charset` (Pekko would make it text).

/// Registered `application/*` and `text/*` types that are text (Pekko's `MediaTypes` entries
/// made "with open charset" or "with fixed charset"). Sorted, for binary search.
const TEXT: [&str; 61] = [
    "application/atom+xml",
    "application/base64",
    "application/javascript",
    "application/json",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/problem+json",
    "application/problem+xml",
    "application/rss+xml",
    "application/soap+xml",
    "application/vnd.api+json",
    "application/vnd.google-earth.kml+xml",
    "application/x-latex",
    "application/x-vrml",
    "application/x-www-form-urlencoded",
    "application/xhtml+xml",
    "application/xml",
    "application/xml-dtd",
    "text/asp",
    "text/cache-manifest",
    "text/calendar",
    "text/css",
    "text/csv",
    "text/event-stream",
    "text/html",
    "text/markdown",
    "text/mcf",
    "text/plain",
    "text/richtext",
    "text/tab-separated-values",
    "text/uri-list",
    "text/vnd.wap.wml",
    "text/vnd.wap.wmlscript",
    "text/x-asm",
    "text/x-c",
    "text/x-component",
    "text/x-h",
    "text/x-java-source",
    "text/x-pascal",
    "text/x-script",
    "text/x-scriptcsh",
    "text/x-scriptelisp",
    "text/x-scriptksh",
    "text/x-scriptlisp",
    "text/x-scriptperl",
    "text/x-scriptperl-module",
    "text/x-scriptphyton",
    "text/x-scriptrexx",
    "text/x-scriptscheme",
    "text/x-scriptsh",
    "text/x-scripttcl",
    "text/x-scripttcsh",
    "text/x-scriptzsh",
    "text/x-server-parsed-html",
    "text/x-setext",
    "text/x-sgml",
    "text/x-speech",
    "text/x-uuencode",
    "text/x-vcalendar",
    "text/x-vcard",
    "text/xml",
];

/// Registered `application/*` types that are binary (so a `charset` does not make them text).
/// Sorted, for binary search.
const BINARY_APPLICATION: [&str; 64] = [
    "application/cbor",
    "application/gnutar",
    "application/grpc+proto",
    "application/java-archive",
    "application/lha",
    "application/lzx",
    "application/msword",
    "application/octet-stream",
    "application/pdf",
    "application/postscript",
    "application/vnd.google-earth.kmz",
    "application/vnd.ms-excel",
    "application/vnd.ms-excel.addin.macroenabled.12",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12",
    "application/vnd.ms-excel.sheet.macroenabled.12",
    "application/vnd.ms-excel.template.macroenabled.12",
    "application/vnd.ms-fontobject",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-powerpoint.addin.macroenabled.12",
    "application/vnd.ms-powerpoint.presentation.macroenabled.12",
    "application/vnd.ms-powerpoint.slideshow.macroenabled.12",
    "application/vnd.ms-word.document.macroenabled.12",
    "application/vnd.ms-word.template.macroenabled.12",
    "application/vnd.oasis.opendocument.chart",
    "application/vnd.oasis.opendocument.database",
    "application/vnd.oasis.opendocument.formula",
    "application/vnd.oasis.opendocument.graphics",
    "application/vnd.oasis.opendocument.image",
    "application/vnd.oasis.opendocument.presentation",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.text-master",
    "application/vnd.oasis.opendocument.text-web",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.slide",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
    "application/vnd.openxmlformats-officedocument.presentationml.template",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    "application/x-7z-compressed",
    "application/x-ace-compressed",
    "application/x-apple-diskimage",
    "application/x-arc-compressed",
    "application/x-bzip",
    "application/x-bzip2",
    "application/x-chrome-extension",
    "application/x-compress",
    "application/x-compressed",
    "application/x-debian-package",
    "application/x-dvi",
    "application/x-font-opentype",
    "application/x-font-truetype",
    "application/x-gtar",
    "application/x-gzip",
    "application/x-rar-compressed",
    "application/x-redhat-package-manager",
    "application/x-shockwave-flash",
    "application/x-tar",
    "application/x-tex",
    "application/x-texinfo",
    "application/x-x509-ca-cert",
    "application/x-xpinstall",
];

/// A parsed `Content-Type`: its `type/subtype` in lower case and whether it named a
/// `charset`. Built per request or result that has a content type; owns one short string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaType {
    essence: String,
    slash: usize,
    charset: bool,
}

impl MediaType {
    /// `application/octet-stream`: Pekko's type for a request body sent without a
    /// `Content-Type`.
    pub(crate) fn octet_stream() -> Self {
        MediaType {
            essence: "application/octet-stream".to_string(),
            slash: "application".len(),
            charset: false,
        }
    }

    /// Parses a `Content-Type` value; `None` unless it starts with a `type/subtype` of tokens.
    pub(crate) fn parse(content_type: &str) -> Option<Self> {
        let mut parts = content_type.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let slash = essence.find('/')?;
        let (top, sub) = (&essence[..slash], &essence[slash + 1..]);
        if !is_token(top) || !is_token(sub) {
            return None;
        }
        let charset = parts.any(|param| {
            param
                .split_once('=')
                .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        });
        Some(MediaType {
            essence,
            slash,
            charset,
        })
    }

    /// `type/subtype`, lower case.
    pub(crate) fn essence(&self) -> &str {
        &self.essence
    }

    /// `application/json` or any `*+json` (OpenWhisk's `isJsonFamily`).
    pub(crate) fn is_json(&self) -> bool {
        self.essence == "application/json" || self.essence.ends_with("+json")
    }

    /// `application/x-www-form-urlencoded`.
    pub(crate) fn is_form(&self) -> bool {
        self.essence == "application/x-www-form-urlencoded"
    }

    /// Pekko's `MediaType.binary` (see the module doc).
    pub(crate) fn is_binary(&self) -> bool {
        if TEXT.binary_search(&self.essence.as_str()).is_ok() {
            return false;
        }
        match &self.essence[..self.slash] {
            "image" | "audio" | "video" | "font" | "message" | "multipart" => true,
            "application"
                if BINARY_APPLICATION
                    .binary_search(&self.essence.as_str())
                    .is_ok() =>
            {
                true
            }
            _ => !self.charset,
        }
    }
}

/// An RFC 9110 token: one or more of the characters a media type's names may use.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(content_type: &str) -> bool {
        MediaType::parse(content_type).unwrap().is_binary()
    }

    #[test]
    fn tables_are_sorted_lower_case_and_disjoint() {
        for table in [&TEXT[..], &BINARY_APPLICATION[..]] {
            assert!(table.windows(2).all(|w| w[0] < w[1]), "{table:?}");
            assert!(table.iter().all(|t| t.to_ascii_lowercase() == *t));
        }
        assert!(TEXT.iter().all(|t| !BINARY_APPLICATION.contains(t)));
    }

    #[test]
    fn parses_essence_and_charset() {
        let m = MediaType::parse(" Application/JSON ; Charset=UTF-8").unwrap();
        assert_eq!(m.essence(), "application/json");
        assert!(m.is_json() && !m.is_form() && !m.is_binary());
        assert!(
            MediaType::parse("application/vnd.api+json")
                .unwrap()
                .is_json()
        );
        assert!(
            MediaType::parse("application/x-www-form-urlencoded")
                .unwrap()
                .is_form()
        );
        for bad in [
            "nonsense",
            "",
            "text/",
            "/plain",
            "text/plain/x",
            "te xt/plain",
        ] {
            assert_eq!(MediaType::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn binary_as_pekko_classifies_it() {
        // every image type, svg included, whatever the parameters
        for ct in [
            "image/png",
            "image/svg+xml",
            "image/svg+xml; charset=utf-8",
            "image/x-new",
        ] {
            assert!(binary(ct), "{ct}");
        }
        for ct in [
            "audio/mpeg",
            "video/mp4",
            "font/woff2",
            "message/http",
            "multipart/form-data",
        ] {
            assert!(binary(ct), "{ct}");
        }
        // registered binary application types stay binary with a charset
        assert!(binary("application/octet-stream"));
        assert!(binary("application/octet-stream; charset=utf-8"));
        assert!(binary("application/pdf; charset=utf-8"));
        // registered text types are text without a charset
        for ct in [
            "text/plain",
            "text/html",
            "text/xml",
            "application/xml",
            "application/xhtml+xml",
            "application/javascript",
            "application/json",
            "application/x-www-form-urlencoded",
        ] {
            assert!(!binary(ct), "{ct}");
        }
        // unknown types are binary unless they name a charset
        assert!(binary("text/javascript"));
        assert!(!binary("text/javascript; charset=utf-8"));
        assert!(binary("application/yaml"));
        assert!(!binary("application/yaml; charset=utf-8"));
        assert!(binary("application/ld+json"));
    }
}
