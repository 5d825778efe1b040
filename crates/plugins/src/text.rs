//! Plugin text made safe to show and to keep.
//!
//! Whatever a script says (`print`, `log::*`, `ui::notify`, a thrown error)
//! ends up on a terminal, in the app, in log files and in the profile. Raw,
//! it could drive a terminal (escape sequences set the window title, erase
//! lines, move the cursor), reorder what a reader sees (bidirectional
//! overrides) or fill the disk. So every such text is neutralised and capped
//! where the sandbox takes it, once, and every front end shows it as it is.

/// Longest message kept (a log line, a notification, an error), bytes.
pub const MAX_MESSAGE: usize = 2_000;

/// Characters that reorder the text around them (Unicode bidirectional
/// formatting): shown escaped, so a message reads as it is stored.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// `s` with every control character (C0 but tab, DEL, C1) and every
/// bidirectional control written out visibly as `\u{…}`. Line breaks too,
/// so the text is one line that cannot pose as another program's line
/// (`error: …`).
pub fn neutralise(s: &str) -> String {
    if !s
        .chars()
        .any(|c| (c.is_control() && c != '\t') || is_bidi_control(c))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to at most `max` bytes (at a character boundary), with `…` after when cut.
pub fn clip(s: &str, max: usize) -> String {
    crm_core::normalize::cut(s, max)
}

/// What the sandbox keeps of a message: cut first (so a huge text costs
/// no more than the cap to neutralise), then neutralised, then cut again
/// (escapes lengthen it).
pub fn message(s: &str) -> String {
    let safe = neutralise(&clip(s, MAX_MESSAGE));
    if safe.len() <= MAX_MESSAGE + '…'.len_utf8() {
        safe
    } else {
        clip(&safe, MAX_MESSAGE)
    }
}

/// A script's value as one line of JSON that is safe on a terminal: the
/// characters JSON leaves raw but a terminal or a reader would act on (C1
/// controls, DEL, bidirectional controls) written as `\uXXXX` escapes,
/// which are still valid JSON for the same value.
pub fn json_line(v: &serde_json::Value) -> String {
    let text = v.to_string();
    if !text.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 12);
    for c in text.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_written_out() {
        let evil = "ok\u{1b}]0;pwned\u{7}\r\u{1b}[2Kerror: disk full\n\u{9b}31m\u{202e}gnp.exe";
        let safe = neutralise(evil);
        assert!(!safe.chars().any(|c| c.is_control() || is_bidi_control(c)));
        assert_eq!(
            safe,
            "ok\\u{1b}]0;pwned\\u{7}\\r\\u{1b}[2Kerror: disk full\\n\\u{9b}31m\\u{202e}gnp.exe"
        );
        assert_eq!(neutralise("plain\ttext é"), "plain\ttext é");
    }

    #[test]
    fn json_for_a_terminal_is_the_same_value() {
        let v = serde_json::json!({"a": "x\u{9b}31m\u{202e}y\u{7f}\u{1b}", "b": [1, "é"]});
        let line = json_line(&v);
        assert!(
            !line.chars().any(|c| c.is_control() || is_bidi_control(c)),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<serde_json::Value>(&line).unwrap(), v);
    }

    #[test]
    fn messages_are_capped() {
        let big = "x".repeat(1 << 20);
        let m = message(&big);
        assert!(m.len() <= MAX_MESSAGE + 3, "{}", m.len());
        assert!(m.ends_with('…'));
        let escapes = "\u{1b}".repeat(10_000);
        assert!(message(&escapes).len() <= MAX_MESSAGE + 3);
        assert_eq!(message("short"), "short");
    }
}
