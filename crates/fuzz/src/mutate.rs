//! Mutations of a seed, driven by values proptest generates (and shrinks):
//! each edit is (kind, position, byte).

/// Tokens that tend to reach the corners of JSON, CSV and Rhai parsers.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b";",
    b"\n",
    b"\r\n",
    b"\0",
    b"null",
    b"-1",
    b"0",
    b"1e999",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"\\u0000",
    b"\\ud800",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xe2\x80\xae",
    b"\xf0\x9d\x84\x9e",
    b"=cmd|' /C calc'!A0",
    b"((((((((((((((((",
    b"[[[[[[[[[[[[[[[[",
    b"fn f() { f() }",
    b"loop {}",
    b"PK\x03\x04",
];

/// The longest input tried: parsers have their own limits above this.
pub const MAX_INPUT: usize = 64 * 1024;

/// Apply `edits` to `seed`; `extra` is a run of random bytes some edits use.
pub fn apply(seed: &[u8], edits: &[(u8, u32, u8)], extra: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for &(kind, pos, byte) in edits {
        let len = out.len();
        let at = pos as usize % (len + 1);
        match kind % 8 {
            0 if at < len => out[at] ^= 1 << (byte % 8),
            1 if at < len => out[at] = byte,
            2 => out.insert(at, byte),
            3 if at < len => {
                let end = (at + 1 + byte as usize % 16).min(len);
                out.drain(at..end);
            }
            4 if at < len => {
                let end = (at + 1 + byte as usize % 64).min(len);
                let run = out[at..end].to_vec();
                let to = (pos as usize / 7) % (out.len() + 1);
                out.splice(to..to, run);
            }
            5 => {
                out.splice(at..at, extra.iter().copied());
            }
            6 | 7 => {
                let token = TOKENS[byte as usize % TOKENS.len()];
                out.splice(at..at, token.iter().copied());
            }
            _ => {}
        }
    }
    out.truncate(MAX_INPUT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_edits_give_the_seed_back_and_edits_change_it() {
        assert_eq!(apply(b"abc", &[], b""), b"abc");
        assert_eq!(apply(b"abc", &[(2, 1, b'x')], b""), b"axbc");
        assert_eq!(apply(b"abc", &[(3, 0, 0)], b""), b"bc");
        assert_eq!(apply(b"", &[(5, 9, 0)], b"zz"), b"zz");
        assert_eq!(apply(b"ab", &[(6, 2, 2)], b""), b"ab{");
    }
}
