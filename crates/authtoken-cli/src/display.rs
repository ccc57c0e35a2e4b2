//! Text from the database as the terminal may be shown it.

use std::fmt::Display;

/// `value` safe to print: every control character (Unicode `Cc`: C0, DEL and the C1 range
/// U+0080–U+009F) and every bidirectional formatting character is replaced by its Rust escape,
/// `\u{1b}`. Whatever a row holds (a user id, a token's name or scopes, a key), it can then
/// neither drive the operator's terminal (an ESC or CSI sequence retitles the window, clears
/// it, rewrites earlier lines, or makes the terminal type an answer) nor reorder what the line
/// shows (a right-to-left override can make `evil` read as `live`).
pub fn safe(value: impl Display) -> String {
    let text = value.to_string();
    if !text.chars().any(is_dangerous) {
        return text;
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_dangerous(c) {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// `Cc`, and the bidirectional embeddings, overrides, isolates and marks.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_are_shown_not_run() {
        assert_eq!(safe("\u{1b}]0;pwned\u{7}"), r"\u{1b}]0;pwned\u{7}");
        assert_eq!(safe("\u{1b}[2J"), r"\u{1b}[2J");
        assert_eq!(safe("a\rb\nc\td\0\u{7f}"), r"a\u{d}b\u{a}c\u{9}d\u{0}\u{7f}");
        assert_eq!(safe("\u{9b}31m\u{85}"), r"\u{9b}31m\u{85}", "C1, as 8-bit terminals read it");
        assert_eq!(safe("\u{202e}evil\u{202c}"), r"\u{202e}evil\u{202c}");
        assert_eq!(safe("\u{2066}x\u{2069}\u{200f}"), r"\u{2066}x\u{2069}\u{200f}");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for text in ["CI deploy", "read,deploy", "Zoë 日本 🚀", r"back\slash", "a-b_c…", ""]
        {
            assert_eq!(safe(text), text);
        }
        assert_eq!(safe(42), "42", "any Display value");
        // Zero-width joiners and the like stay: they make emoji and scripts, not escapes.
        assert_eq!(safe("👩\u{200d}💻"), "👩\u{200d}💻");
    }
}
