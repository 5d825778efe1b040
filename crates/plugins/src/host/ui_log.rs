//! The `log` and `ui` modules: log lines and user notifications, kept per
//! invocation and capped; they touch no store.

use rhai::{Engine, FuncRegistration, Module};

use super::{fail, need, with_inv, HostResult};
use crate::sandbox::{ErrorKind, LogLine, Notification};

/// Log lines and notifications kept per invocation.
const MAX_MESSAGES: usize = 200;

fn push_log(level: &str, msg: &str) -> HostResult<()> {
    with_inv(|inv| {
        if inv.logs.len() < MAX_MESSAGES {
            inv.logs.push(LogLine {
                level: level.to_string(),
                message: crate::text::message(msg),
            });
        }
        Ok(())
    })
}

pub(super) fn register_ui_log(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "info",
        ["message: &str", "()"],
        "Log a line (tagged with the plugin and tenant; capped).",
        |msg: &str| push_log("info", msg)
    );
    func!(
        m,
        "warn",
        ["message: &str", "()"],
        "Log a warning.",
        |msg: &str| push_log("warn", msg)
    );
    func!(
        m,
        "error",
        ["message: &str", "()"],
        "Log an error (the run still succeeds unless the script throws).",
        |msg: &str| push_log("error", msg)
    );
    engine.register_static_module("log", m.into());

    let mut m = Module::new();
    func!(
        m,
        "notify",
        ["level: &str", "message: &str", "()"],
        "Show the user a message: level \"info\", \"success\", \"warning\" or \"error\". Plain text, never HTML. Needs ui:notify.",
        |level: &str, msg: &str| -> HostResult<()> {
            need("ui:notify")?;
            if !matches!(level, "info" | "success" | "warning" | "error") {
                return Err(fail(
                    ErrorKind::Runtime,
                    format!("ui::notify: unknown level {level:?}; use info, success, warning or error"),
                ));
            }
            with_inv(|inv| {
                if inv.notifications.len() < MAX_MESSAGES {
                    inv.notifications.push(Notification {
                        level: level.to_string(),
                        message: crate::text::message(msg),
                    });
                }
                Ok(())
            })
        }
    );
    engine.register_static_module("ui", m.into());
}
