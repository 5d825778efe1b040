// The command list is shared with the shell (`src/command_names.rs`).
include!("src/command_names.rs");

fn main() {
    // An app manifest makes every app command deny-by-default: the window's
    // capability (capabilities/default.json) must grant each one by name.
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration (src-tauri/tauri.conf.json)");
}
