//! The memory floor for `make bench-app`: the same Tauri + WebKitGTK stack
//! as the app, built with the same configuration, showing an empty page
//! with no commands, no database and no UI bundle. What the app measures
//! above this is the app's own cost; this much is the platform's.

fn main() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // As the app does by default (see src/main.rs).
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    let mut context = tauri::generate_context!();
    // No window from the configuration: one blank window instead.
    context.config_mut().app.windows.clear();
    tauri::Builder::default()
        .setup(|app| {
            let url = "about:blank".parse().map_err(|e| format!("url: {e}"))?;
            tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::External(url))
                .title("blank")
                .inner_size(1280.0, 800.0)
                .build()?;
            Ok(())
        })
        .run(context)
        .expect("error while running the blank window");
}
