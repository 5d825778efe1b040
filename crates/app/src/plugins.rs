//! The plugins screen: install (a signed package, or a built-in template),
//! review permissions, enable, configure, run actions, draw their UI data.

use std::collections::BTreeMap;

use crm_plugins::manifest::{describe_permission, SettingType};
use crm_plugins::{lifecycle, runtime, Manifest};

use crate::convert::tag;
use crate::dto::*;
use crate::{ApiError, ApiResult, App};

fn manifest(rec: &crm_core::PluginRecord) -> ApiResult<Manifest> {
    Manifest::parse(&rec.manifest).map_err(|_| {
        ApiError::new(
            crate::ErrorCode::Plugin,
            format!("the stored manifest of {} is damaged; reinstall it", rec.id),
        )
    })
}

fn actions_of(m: &Manifest) -> Vec<PluginActionDto> {
    m.actions
        .iter()
        .map(|a| PluginActionDto {
            plugin_id: m.id.clone(),
            plugin_name: m.name.clone(),
            action_id: a.id.clone(),
            label: a.label.clone(),
            target: tag(&a.target),
        })
        .collect()
}

pub(crate) fn hook_words(event: &str) -> String {
    let (thing, what) = event.split_once('.').unwrap_or((event, ""));
    let what = match what {
        "created" => "is created",
        "updated" => "changes",
        "deleted" => "is deleted",
        "imported" => "is imported",
        other => other,
    };
    format!("When a {thing} {what}")
}

/// When a plugin runs, in words ("When a contact is created", "Every day
/// at 08:00", "When you press “Score all”").
fn runs_words(m: &Manifest) -> Vec<String> {
    let mut out: Vec<String> = m.hooks.iter().map(|h| hook_words(&h.event)).collect();
    out.extend(m.schedules.iter().map(|s| schedule_words(&s.cron)));
    out.extend(
        m.actions
            .iter()
            .map(|a| format!("When you press “{}”", a.label)),
    );
    out
}

/// A cron schedule in words, for the ones people make ("0 8 * * *").
pub(crate) fn schedule_words(cron: &str) -> String {
    let parts: Vec<&str> = cron.split_whitespace().collect();
    if let [mi, h, "*", "*", days] = parts.as_slice() {
        if let (Ok(mi), Ok(h)) = (mi.parse::<u32>(), h.parse::<u32>()) {
            let when = match *days {
                "*" => "Every day".to_string(),
                "1-5" => "Every weekday".to_string(),
                d => match d {
                    "0" | "7" => "Every Sunday",
                    "1" => "Every Monday",
                    "2" => "Every Tuesday",
                    "3" => "Every Wednesday",
                    "4" => "Every Thursday",
                    "5" => "Every Friday",
                    "6" => "Every Saturday",
                    _ => return format!("On the schedule {cron}"),
                }
                .to_string(),
            };
            return format!("{when} at {h:02}:{mi:02}");
        }
    }
    format!("On the schedule {cron}")
}

impl App {
    pub(crate) fn developer_mode(&self) -> ApiResult<bool> {
        self.read(|s| Ok(s.developer_mode()?))
    }

    /// Installed plugins with their permissions, settings and health.
    pub fn plugins(&self) -> ApiResult<Vec<PluginDto>> {
        let s = self.session()?;
        let records = crate::lock_store(&s)?.plugins()?;
        let mut out = Vec::new();
        for rec in records {
            out.push(self.plugin_dto(&s, &rec)?);
        }
        Ok(out)
    }

    pub(crate) fn plugin(&self, id: &str) -> ApiResult<PluginDto> {
        let s = self.session()?;
        let rec = crate::lock_store(&s)?.plugin(id)?;
        self.plugin_dto(&s, &rec)
    }

    fn plugin_dto(&self, s: &crate::Session, rec: &crm_core::PluginRecord) -> ApiResult<PluginDto> {
        let m = manifest(rec)?;
        let (current, agency, stored_secret, catalog, stopped_by_catalog) = {
            let st = crate::lock_store(s)?;
            (
                st.plugin_settings(&rec.id)?,
                crm_plugins::runtime::agency_defaults(&st, &m)?,
                st.plugin_secret_keys(&rec.id)?,
                crm_catalog::standing(&st, &rec.id)?,
                st.catalog_block(&rec.id)?.is_some(),
            )
        };
        let h = s.rt.health(&rec.id)?;
        let origin = match &rec.signer {
            Some(_) => PluginOrigin::Signed,
            None => match self.package_files(rec) {
                Ok(files) if crm_plugins::templates::is_builtin(&rec.id, &m.name, &files) => {
                    PluginOrigin::App
                }
                Ok(files) if crm_studio::wizard::made_by_wizard(&files).is_some() => {
                    PluginOrigin::Studio
                }
                _ => PluginOrigin::Unsigned,
            },
        };
        Ok(PluginDto {
            origin,
            catalog,
            stopped_by_catalog,
            id: rec.id.clone(),
            name: m.name.clone(),
            version: rec.version.clone(),
            author: m.author.clone(),
            description: m.description.clone(),
            enabled: rec.enabled,
            disabled_reason: rec.disabled_reason.clone(),
            signer: rec.signer.as_ref().map(|k| k.chars().take(16).collect()),
            permissions: m
                .permissions
                .iter()
                .map(|p| PermissionDto {
                    permission: p.clone(),
                    description: describe_permission(p),
                    granted: rec.grants.contains(p),
                })
                .collect(),
            hooks: m.hooks.iter().map(|h| hook_words(&h.event)).collect(),
            schedules: m
                .schedules
                .iter()
                .map(|x| schedule_words(&x.cron))
                .collect(),
            actions: actions_of(&m),
            settings: m
                .settings
                .iter()
                .map(|st| {
                    let v = current.get(&st.key).cloned();
                    let from_agency = v.is_none() && agency.contains_key(&st.key);
                    let v = v.or_else(|| agency.get(&st.key).cloned());
                    let secret = st.kind == SettingType::Secret || stored_secret.contains(&st.key);
                    SettingFieldDto {
                        key: st.key.clone(),
                        label: st.label.clone(),
                        kind: if secret {
                            tag(&SettingType::Secret)
                        } else {
                            tag(&st.kind)
                        },
                        required: st.required,
                        choices: st.choices.clone(),
                        is_set: v.is_some(),
                        from_agency,
                        value: if secret {
                            serde_json::Value::Null
                        } else {
                            v.or_else(|| st.default.clone())
                                .unwrap_or(serde_json::Value::Null)
                        },
                    }
                })
                .collect(),
            health: HealthDto {
                runs: h.runs as u32,
                errors: h.errors as u32,
                p50_ms: h.p50_ms,
                p95_ms: h.p95_ms,
                last_error: h.last_error,
            },
        })
    }

    /// The templates shipped with the app, and which are installed.
    pub fn plugin_templates(&self) -> ApiResult<Vec<TemplateDto>> {
        let installed: Vec<String> = self
            .read(|s| Ok(s.plugins()?))?
            .into_iter()
            .map(|p| p.id)
            .collect();
        Ok(crm_plugins::templates::list()
            .into_iter()
            .filter(|(n, _)| n != "blank")
            .map(|(name, description)| {
                let id = crm_plugins::templates::id_from_name(&name);
                let m = crm_plugins::templates::shipped_manifest(&name)
                    .and_then(|t| Manifest::parse(&t).ok());
                let (runs, may) = match &m {
                    Some(m) => (
                        runs_words(m),
                        m.permissions
                            .iter()
                            .map(|p| describe_permission(p))
                            .collect(),
                    ),
                    None => (Vec::new(), Vec::new()),
                };
                TemplateDto {
                    installed_as: installed.contains(&id).then_some(id),
                    title: m
                        .as_ref()
                        .map(|m| m.name.clone())
                        .unwrap_or_else(|| name.clone()),
                    name,
                    description,
                    runs,
                    may,
                }
            })
            .collect())
    }

    /// Install a template shipped inside the app (it is part of the app's
    /// own signed build, so no publisher key is needed). It starts disabled.
    pub fn plugin_install_template(&self, name: &str) -> ApiResult<PluginDto> {
        let tmp = tempfile::tempdir().map_err(|e| {
            ApiError::new(
                crate::ErrorCode::Io,
                format!("cannot make a temporary folder: {e}"),
            )
        })?;
        let dir = tmp.path().join(name);
        crm_plugins::templates::create(name, &dir)
            .map_err(|e| ApiError::new(crate::ErrorCode::NotFound, e))?;
        let m = self.write(|s| Ok(lifecycle::install(s, &dir, true)?))?;
        self.plugin(&m.id)
    }

    /// Install a signed package (or, in developer mode, an unsigned package
    /// or folder). It starts disabled.
    pub fn plugin_install_file(&self, path: &str) -> ApiResult<PluginDto> {
        let p = std::path::PathBuf::from(path.trim());
        if !p.exists() {
            return Err(ApiError::invalid(
                "path",
                format!("{}: no such file", p.display()),
            ));
        }
        let dev = self.developer_mode()?;
        let m = self.write(|s| Ok(lifecycle::install(s, &p, dev)?))?;
        self.plugin(&m.id)
    }

    /// Enable a plugin, granting the listed permissions (only ones it asked
    /// for; any it needs and was not granted are refused at call time).
    pub fn plugin_enable(&self, id: &str, grants: Vec<String>) -> ApiResult<PluginDto> {
        self.write(|s| Ok(lifecycle::enable(s, id, Some(grants))?))?;
        self.plugin(id)
    }

    /// Disable a plugin at once; its data stays.
    pub fn plugin_disable(&self, id: &str) -> ApiResult<PluginDto> {
        self.write(|s| Ok(lifecycle::disable(s, id)?))?;
        self.plugin(id)
    }

    /// Uninstall a plugin, first exporting its data to `export_path` when given.
    pub fn plugin_uninstall(&self, id: &str, export_path: Option<String>) -> ApiResult<()> {
        self.write(|s| {
            if let Some(path) = export_path.as_deref().filter(|p| !p.trim().is_empty()) {
                let rec = s.plugin(id)?;
                let secrets = runtime::secret_keys_of(s, id, &manifest(&rec)?)?;
                let data = s.plugin_data_export(id, &secrets)?;
                let text = serde_json::to_string_pretty(&data)
                    .map_err(|e| ApiError::new(crate::ErrorCode::Internal, e.to_string()))?;
                std::fs::write(path, text)
                    .map_err(|e| ApiError::new(crate::ErrorCode::Io, format!("{path}: {e}")))?;
            }
            Ok(lifecycle::uninstall(s, id)?)
        })
    }

    /// The data kept in this profile from plugins the agency's catalog
    /// removed.
    pub fn plugin_kept(&self) -> ApiResult<Vec<KeptPluginDataDto>> {
        self.read(|s| {
            Ok(s.kept_plugin_exports()?
                .into_iter()
                .map(|(plugin_id, at, bytes)| KeptPluginDataDto {
                    plugin_id,
                    at,
                    bytes: bytes.max(0) as u64,
                })
                .collect())
        })
    }

    /// Write the newest data kept from plugin `id` to `path` (JSON, as an
    /// uninstall's export writes it).
    pub fn plugin_kept_save(&self, id: &str, path: &str) -> ApiResult<()> {
        let kept = self.read(|s| Ok(s.plugin_exports(id)?))?;
        let Some((_, data)) = kept.into_iter().next() else {
            return Err(ApiError::new(
                crate::ErrorCode::NotFound,
                format!("nothing is kept from {id}"),
            ));
        };
        let text = serde_json::to_string_pretty(&data)
            .map_err(|e| ApiError::new(crate::ErrorCode::Internal, e.to_string()))?;
        std::fs::write(path, text)
            .map_err(|e| ApiError::new(crate::ErrorCode::Io, format!("{path}: {e}")))
    }

    /// Save a plugin's settings form. Values as typed; an empty secret
    /// keeps the stored one.
    pub fn plugin_configure(
        &self,
        id: &str,
        values: BTreeMap<String, String>,
    ) -> ApiResult<PluginDto> {
        self.write(|s| {
            let rec = s.plugin(id)?;
            let m = manifest(&rec)?;
            let current = runtime::settings_base(s, &m)?;
            let secrets = runtime::secret_keys_of(s, id, &m)?;
            let pairs: Vec<(String, String)> = values
                .into_iter()
                .filter(|(k, v)| !(secrets.contains(k) && v.is_empty()))
                .collect();
            let new = runtime::validate_settings(&m, &pairs, &current).map_err(|problems| {
                let field = problems
                    .first()
                    .and_then(|p| p.split(':').next())
                    .unwrap_or("settings")
                    .trim()
                    .to_string();
                ApiError::invalid(&field, problems.join("; "))
            })?;
            // The form shows the agency's defaults: one saved unchanged
            // stays the agency's (and follows it when the agency changes it).
            let new = runtime::settings_to_store(s, &m, new)?;
            Ok(s.set_plugin_settings(id, &new, &secrets)?)
        })?;
        self.plugin(id)
    }

    /// Buttons of enabled plugins.
    pub(crate) fn plugin_actions(&self) -> ApiResult<Vec<PluginActionDto>> {
        let recs = self.read(|s| Ok(s.plugins()?))?;
        let mut out = Vec::new();
        for rec in recs.iter().filter(|r| r.enabled) {
            if let Ok(m) = manifest(rec) {
                out.extend(actions_of(&m));
            }
        }
        Ok(out)
    }

    /// Fill the enabled plugins' widgets or record panels. A plugin that
    /// fails shows its error in its own panel; the screen still draws.
    pub(crate) fn render_panels(
        &self,
        section: &str,
        record: Option<&str>,
    ) -> ApiResult<Vec<PluginPanel>> {
        let s = self.session()?;
        let mut out = Vec::new();
        for (pid, sec, item) in s.rt.ui_items()? {
            if sec != section {
                continue;
            }
            let (data, error) = match s.rt.render_ui(&pid, &item.id, record) {
                Ok(v) => (v, None),
                Err(e) => (serde_json::Value::Null, Some(e.to_string())),
            };
            out.push(PluginPanel {
                plugin_id: pid,
                item_id: item.id,
                title: item.title,
                kind: item.kind,
                data,
                error,
            });
        }
        Ok(out)
    }

    /// Run a plugin's action (on a record when it works on one).
    pub fn plugin_run_action(
        &self,
        id: &str,
        action: &str,
        record: Option<String>,
    ) -> ApiResult<ActionResult> {
        let s = self.session()?;
        let report = s.rt.run_action(id, action, record.as_deref())?;
        if let Some(why) = &report.disabled {
            self.notice(NoticeDto {
                level: "error".into(),
                message: format!("disabled: {why}"),
                source: Some(id.to_string()),
            });
        }
        let out = report.into_output()?;
        // Other plugins react to what the action wrote.
        self.run_hooks(&s, &mut |_, _| true);
        Ok(ActionResult {
            value: out.value,
            notifications: out
                .notifications
                .into_iter()
                .map(|n| NoticeDto {
                    level: n.level,
                    message: n.message,
                    source: Some(id.to_string()),
                })
                .collect(),
            writes: out.writes as u32,
            elapsed_ms: out.elapsed.as_secs_f64() * 1000.0,
        })
    }
}
