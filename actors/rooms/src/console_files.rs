//! The operator console's page, built into the component: three static files served by the admin
//! listener under `/console/`. They hold no data (everything comes from the admin API with the
//! operator's token), so serving them needs no token. Only these exact paths are served: a path is
//! looked up, never joined to a folder, so nothing else of the build can be reached.

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every console file: its path, content type and bytes.
const FILES: [(&str, &str, &[u8]); 3] = [
    ("/console/", HTML, include_bytes!("../console/index.html")),
    (
        "/console/console.js",
        JAVASCRIPT,
        include_bytes!("../console/console.js"),
    ),
    (
        "/console/console.css",
        CSS,
        include_bytes!("../console/console.css"),
    ),
];

/// The content type and bytes of the console file at `path`, `None` if there is none.
pub fn file(path: &str) -> Option<(&'static str, &'static [u8])> {
    FILES
        .iter()
        .find(|(served, _, _)| *served == path)
        .map(|&(_, content_type, bytes)| (content_type, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &str) -> (&'static str, String) {
        let (content_type, bytes) = file(path).unwrap_or_else(|| panic!("{path} is served"));
        let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
        (content_type, text)
    }

    #[test]
    fn the_page_is_served_as_html_and_loads_its_script_and_style() {
        let (content_type, page) = text("/console/");
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains(r#"<script src="/console/console.js" defer></script>"#));
        assert!(page.contains(r#"href="/console/console.css""#));
        assert!(page.contains(r#"<form id="sign-in""#));
    }

    #[test]
    fn the_script_and_style_are_served_with_their_types() {
        let (content_type, script) = text("/console/console.js");
        assert_eq!(content_type, "text/javascript; charset=utf-8");
        assert!(script.contains("'use strict'"));
        let (content_type, style) = text("/console/console.css");
        assert_eq!(content_type, "text/css; charset=utf-8");
        assert!(style.contains("#console"));
    }

    #[test]
    fn nothing_else_is_served() {
        for path in [
            "/console",
            "/console/index.html",
            "/console/x",
            "/console/../Cargo.toml",
            "/console/../src/lib.rs",
            "/console//console.js",
            "/console/console.js/",
            "/console/CONSOLE.JS",
            "/console/config.json",
            "/",
            "",
        ] {
            assert_eq!(file(path), None, "{path:?} must not be served");
        }
    }

    /// Whether some ` on<letters>=` (an inline event handler attribute) is in `page`.
    fn has_event_handler_attribute(page: &str) -> bool {
        page.match_indices(" on").any(|(at, _)| {
            let rest = &page[at + 3..];
            let name_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(0);
            name_len > 0 && rest[name_len..].starts_with('=')
        })
    }

    #[test]
    fn the_handler_check_sees_handlers_and_only_them() {
        assert!(has_event_handler_attribute(r#"<button onclick="x()">"#));
        assert!(!has_event_handler_attribute("kept in this tab only."));
    }

    /// The CSP forbids inline script and style, so the page must not rely on either.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let (_, page) = text("/console/");
        assert_eq!(page.matches("<script").count(), 1);
        assert!(!page.contains("<style"));
        assert!(!page.contains("style="));
        assert!(
            !has_event_handler_attribute(&page),
            "no inline event handlers"
        );
        let (_, script) = text("/console/console.js");
        assert!(
            !script.contains("innerHTML"),
            "server text only via textContent"
        );
        assert!(!script.contains("eval("));
    }
}
