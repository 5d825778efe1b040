//! A passphrase held only as long as needed and wiped afterwards.

use zeroize::Zeroizing;

/// A secret string (wiped on drop).
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wrap a string.
    pub fn new(s: String) -> Self {
        Secret(Zeroizing::new(s))
    }
    /// The inner wiping string.
    pub fn into_zeroizing(self) -> Zeroizing<String> {
        self.0
    }
}
