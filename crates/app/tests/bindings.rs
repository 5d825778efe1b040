//! The committed TypeScript bindings match the Rust types.

use std::path::PathBuf;

#[test]
fn typescript_bindings_are_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../src-ui/src/bindings.ts");
    let want = crm_app::bindings::typescript();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &want).expect("write bindings");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "src-ui/src/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p crm-app --test bindings` and commit it"
    );
}
