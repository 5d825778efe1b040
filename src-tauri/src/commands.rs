//! Every command the window may call: one line each into `crm_app::App`.
//! Commands run on the blocking pool (see `blocking`), off the main thread
//! and off the async runtime's; errors
//! cross as `{code, message, field}`. Only the error code is logged (a
//! message may hold a name or an email).

use std::collections::BTreeMap;
use std::sync::Arc;

use crm_app::admin_console::*;
use crm_app::catalog::*;
use crm_app::compliance::*;
use crm_app::compliance_policies::*;
use crm_app::compliance_training::*;
use crm_app::documents::*;
use crm_app::dto::*;
use crm_app::history::HistoryEntryDto;
use crm_app::studio::*;
use crm_app::studio_code::*;
use crm_app::studio_console::*;
use crm_app::studio_history::*;
use crm_app::studio_sample::*;
use crm_app::studio_share::*;
use crm_app::{ApiError, App};
use tauri::{AppHandle, Emitter, State};

type S<'a> = State<'a, Arc<App>>;
type R<T> = Result<T, ApiError>;

fn logged<T>(name: &str, r: R<T>) -> R<T> {
    if let Err(e) = &r {
        tracing::warn!(command = name, code = %e.code, "command failed");
    }
    r
}

/// Run a command's work on the blocking pool: commands wait on the store,
/// on files and on the network (a sync's sign-in uses blocking HTTP, which
/// must not run on the async runtime's threads: it panicked there, and the
/// window waited for ever).
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&App) -> R<T> + Send + 'static,
) -> R<T> {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || work(&app))
        .await
        .map_err(|_| {
            ApiError::new(
                crm_app::ErrorCode::Internal,
                "the command stopped unexpectedly; try again, and restart the app if it keeps happening",
            )
        })?
}

macro_rules! commands {
    ($( fn $name:ident($($arg:ident : $ty:ty),*) -> $ret:ty = |$app:ident| $body:expr; )*) => {
        $(
            #[tauri::command(rename_all = "snake_case")]
            pub async fn $name(state: S<'_>, $($arg: $ty),*) -> R<$ret> {
                let r = blocking(state.inner(), move |$app: &App| $body).await;
                logged(stringify!($name), r)
            }
        )*
    };
}

commands! {
    fn profile_state() -> ProfileState = |a| a.profile_state();
    fn keyring_available() -> bool = |a| Ok(a.keyring_available());
    fn profile_create(passphrase: Option<String>, region: String) -> ProfileState = |a| a.profile_create(passphrase, &region);
    fn profile_unlock(passphrase: String) -> ProfileState = |a| a.profile_unlock(passphrase);
    fn profile_lock() -> ProfileState = |a| a.profile_lock();
    fn meta() -> Meta = |a| a.meta();
    fn contacts_page(q: ContactQueryArgs) -> ContactPage = |a| a.contacts_page(q);
    fn contact_detail(contact_id: String) -> ContactDetail = |a| a.contact_detail(&contact_id);
    fn contact_history(contact_id: String) -> Vec<HistoryEntryDto> = |a| a.contact_history(&contact_id);
    fn contact_create(form: ContactForm) -> ContactDto = |a| a.contact_create(form);
    fn contact_update(contact_id: String, form: ContactForm) -> ContactDto = |a| a.contact_update(&contact_id, form);
    fn contact_delete(contact_id: String) -> () = |a| a.contact_delete(&contact_id);
    fn contact_log(contact_id: String, kind: String, text: String) -> ActivityDto = |a| a.contact_log(&contact_id, &kind, &text);
    fn policy_create(form: PolicyForm) -> PolicyDto = |a| a.policy_create(form);
    fn policy_schedule(policy_id: String) -> Vec<PaymentDto> = |a| a.policy_schedule(&policy_id);
    fn payment_record(form: PaymentForm) -> PaymentDto = |a| a.payment_record(form);
    fn renewals(days: u32) -> Vec<RenewalDto> = |a| a.renewals(days);
    fn arrears() -> Vec<ArrearsDto> = |a| a.arrears();
    fn tasks(view: TaskView) -> Vec<TaskDto> = |a| a.tasks(view);
    fn task_create(form: TaskForm) -> TaskDto = |a| a.task_create(form);
    fn task_set_status(task_id: String, status: String) -> TaskDto = |a| a.task_set_status(&task_id, &status);
    fn dashboard() -> Dashboard = |a| a.dashboard();
    fn export_contacts(path: String) -> u32 = |a| a.export_contacts(&path);
    fn import_preview(path: String, mappings: Vec<ColumnChoice>) -> ImportPreview = |a| a.import_preview(&path, &mappings);
    fn import_cancel() -> bool = |a| a.import_cancel();
    fn import_report_save(path: String) -> () = |a| a.import_report_save(&path);
    fn plugins() -> Vec<PluginDto> = |a| a.plugins();
    fn plugin_templates() -> Vec<TemplateDto> = |a| a.plugin_templates();
    fn plugin_install_template(name: String) -> PluginDto = |a| a.plugin_install_template(&name);
    fn plugin_install_file(path: String) -> PluginDto = |a| a.plugin_install_file(&path);
    fn plugin_enable(id: String, grants: Vec<String>) -> PluginDto = |a| a.plugin_enable(&id, grants);
    fn plugin_disable(id: String) -> PluginDto = |a| a.plugin_disable(&id);
    fn plugin_uninstall(id: String, export_path: Option<String>) -> () = |a| a.plugin_uninstall(&id, export_path);
    fn plugin_configure(id: String, values: BTreeMap<String, String>) -> PluginDto = |a| a.plugin_configure(&id, values);
    fn plugin_run_action(id: String, action: String, record: Option<String>) -> ActionResult = |a| a.plugin_run_action(&id, &action, record);
    fn studio_catalog() -> StudioCatalogDto = |a| a.studio_catalog();
    fn studio_field_values(field: String) -> Vec<String> = |a| a.studio_field_values(&field);
    fn studio_preview(model: String) -> StudioPreviewDto = |a| a.studio_preview(&model);
    fn studio_save(model: String, replace: bool) -> PluginDto = |a| a.studio_save(&model, replace);
    fn studio_model(id: String) -> Option<String> = |a| a.studio_model(&id);
    fn studio_cancel() -> bool = |a| Ok(a.studio_cancel());
    fn studio_sample_records(model: String) -> Vec<SampleRecordDto> = |a| a.studio_sample_records(&model);
    fn studio_records(kind: String) -> Vec<SampleRecordDto> = |a| a.studio_records(&kind);
    fn studio_sample(model: String, record: String) -> Vec<StudioSampleDto> = |a| a.studio_sample(&model, &record);
    fn studio_reference() -> EditorReferenceDto = |a| a.studio_reference();
    fn studio_diagnose(manifest: String, script: String) -> Vec<EditorDiagnosticDto> = |a| a.studio_diagnose(&manifest, &script);
    fn studio_source(id: String) -> PluginSourceDto = |a| a.studio_source(&id);
    fn studio_console(args: ConsoleRunArgs) -> ConsoleResultDto = |a| a.studio_console(args);
    fn studio_run_tests(manifest: String, script: String, tests: Vec<PluginFileDto>) -> Vec<PluginTestDto> = |a| a.studio_run_tests(&manifest, &script, tests);
    fn studio_save_code(manifest: String, script: String, tests: Vec<PluginFileDto>) -> PluginDto = |a| a.studio_save_code(&manifest, &script, tests);
    fn plugin_runs(id: String, limit: u32) -> Vec<PluginRunDto> = |a| a.plugin_runs(&id, limit);
    fn catalog_view() -> CatalogViewDto = |a| a.catalog_view();
    fn catalog_set(id: String, args: CatalogSetArgs) -> CatalogViewDto = |a| a.catalog_set(&id, args);
    fn catalog_publish_installed(id: String, mode: String, grants: Vec<String>) -> CatalogViewDto = |a| a.catalog_publish_installed(&id, &mode, grants);
    fn catalog_publish_file(path: String, mode: String, grants: Vec<String>) -> CatalogViewDto = |a| a.catalog_publish_file(&path, &mode, grants);
    fn catalog_audit() -> Vec<CatalogAuditDto> = |a| a.catalog_audit();
    fn catalog_set_local_plugins(who: String) -> CatalogViewDto = |a| a.catalog_set_local_plugins(&who);
    fn catalog_distrust(public_key: String) -> CatalogViewDto = |a| a.catalog_distrust(&public_key);
    fn catalog_apply_role_template(id: String, name: String) -> CatalogViewDto = |a| a.catalog_apply_role_template(&id, &name);
    fn plugin_kept() -> Vec<KeptPluginDataDto> = |a| a.plugin_kept();
    fn plugin_kept_save(id: String, path: String) -> () = |a| a.plugin_kept_save(&id, &path);
    fn catalog_offers() -> Vec<CatalogOfferDto> = |a| a.catalog_offers();
    fn catalog_install(id: String) -> PluginDto = |a| a.catalog_install(&id);
    fn admin_users() -> Vec<AdminUserDto> = |a| a.admin_users();
    fn admin_invite(email: String, role: String, team: Option<String>) -> OneTimePasswordDto = |a| a.admin_invite(&email, &role, team);
    fn admin_set_user(id: String, change: AdminUserChangeArgs) -> Vec<AdminUserDto> = |a| a.admin_set_user(&id, change);
    fn admin_reset_password(id: String) -> OneTimePasswordDto = |a| a.admin_reset_password(&id);
    fn admin_devices() -> Vec<AdminDeviceDto> = |a| a.admin_devices();
    fn admin_revoke_device(id: String) -> Vec<AdminDeviceDto> = |a| a.admin_revoke_device(&id);
    fn admin_audit() -> Vec<AdminAuditDto> = |a| a.admin_audit();
    fn sync_change_password(current: String, new: String) -> SyncStatusDto = |a| a.sync_change_password(&current, &new);
    fn studio_export_package(id: String, path: String) -> PackageExportDto = |a| a.studio_export_package(&id, &path);
    fn studio_save_folder(id: String, dir: String) -> Vec<String> = |a| a.studio_save_folder(&id, &dir);
    fn notices_take() -> Vec<NoticeDto> = |a| a.notices_take();
    fn sync_status() -> SyncStatusDto = |a| a.sync_status();
    fn sync_login(args: LoginArgs) -> SyncStatusDto = |a| a.sync_login(args);
    fn sync_now() -> SyncReportDto = |a| a.sync_now();
    fn sync_state() -> SyncStateDto = |a| a.sync_state();
    fn sync_set_aside() -> Vec<SetAsideDto> = |a| a.sync_set_aside();
    fn sync_retry(op_id: String) -> SyncStatusDto = |a| a.sync_retry(&op_id);
    fn sync_discard(op_id: String) -> SyncStatusDto = |a| a.sync_discard(&op_id);
    fn settings() -> SettingsDto = |a| a.settings();
    fn settings_set_region(code: String) -> SettingsDto = |a| a.settings_set_region(&code);
    fn settings_set_ai(args: AiSettingsArgs) -> SettingsDto = |a| a.settings_set_ai(args);
    fn settings_set_developer_mode(on: bool) -> SettingsDto = |a| a.settings_set_developer_mode(on);
    fn docs_list(q: DocsQueryArgs) -> DocumentPageDto = |a| a.docs_list(q);
    fn docs_get(id: String) -> DocumentDto = |a| a.docs_get(&id);
    fn docs_versions(id: String) -> Vec<DocVersionDto> = |a| a.docs_versions(&id);
    fn docs_add_cancel() -> bool = |a| Ok(a.docs_add_cancel());
    fn docs_publish(id: String) -> DocumentDto = |a| a.docs_publish(&id);
    fn docs_retire(id: String) -> DocumentDto = |a| a.docs_retire(&id);
    fn docs_set_audience(id: String, audience: Vec<String>) -> DocumentDto = |a| a.docs_set_audience(&id, audience);
    fn docs_set_details(id: String, details: DocDetailsArgs) -> DocumentDto = |a| a.docs_set_details(&id, details);
    fn docs_search(query: String, limit: u32) -> Vec<DocHitDto> = |a| a.docs_search(&query, limit);
    fn docs_ask_cancel() -> () = |a| { a.docs_ask_cancel(); Ok(()) };
    fn docs_page(id: String, version: i64, page: i64) -> DocPageViewDto = |a| a.docs_page(&id, version, page);
    fn compliance_meta() -> ComplianceMetaDto = |a| a.compliance_meta();
    fn compliance_staff_list(q: StaffQueryArgs) -> Vec<StaffDto> = |a| a.compliance_staff_list(q);
    fn compliance_staff_get(id: String) -> StaffDetailDto = |a| a.compliance_staff_get(&id);
    fn compliance_staff_create(form: StaffForm) -> StaffDto = |a| a.compliance_staff_create(form);
    fn compliance_staff_update(id: String, form: StaffForm) -> StaffDto = |a| a.compliance_staff_update(&id, form);
    fn compliance_check_set(staff_id: String, item: String, args: CheckArgs) -> CheckDto = |a| a.compliance_check_set(&staff_id, &item, args);
    fn compliance_evidence_add(staff_id: String, item: String, path: String) -> EvidenceDto = |a| a.compliance_evidence_add(&staff_id, &item, &path);
    fn compliance_evidence_save(id: String, path: String) -> EvidenceDto = |a| a.compliance_evidence_save(&id, &path);
    fn compliance_meeting_record(staff_id: String, form: MeetingForm) -> MeetingDto = |a| a.compliance_meeting_record(&staff_id, form);
    fn compliance_courses(include_inactive: bool) -> Vec<CourseDto> = |a| a.compliance_courses(include_inactive);
    fn compliance_course_add(form: CourseForm) -> CourseDto = |a| a.compliance_course_add(form);
    fn compliance_course_edit(id: String, form: CourseForm) -> CourseDto = |a| a.compliance_course_edit(&id, form);
    fn compliance_training_record(form: TrainingForm) -> TrainingRecordDto = |a| a.compliance_training_record(form);
    fn compliance_matrix(q: MatrixQueryArgs) -> MatrixDto = |a| a.compliance_matrix(q);
    fn compliance_policies() -> Vec<CompliancePolicyDto> = |a| a.compliance_policies();
    fn compliance_policy_get(doc_id: String) -> PolicyDetailDto = |a| a.compliance_policy_get(&doc_id);
    fn compliance_policy_register(doc_id: String, form: CompliancePolicyForm) -> CompliancePolicyDto = |a| a.compliance_policy_register(&doc_id, form);
    fn compliance_policy_edit(doc_id: String, form: CompliancePolicyForm) -> CompliancePolicyDto = |a| a.compliance_policy_edit(&doc_id, form);
    fn compliance_policy_submit(doc_id: String) -> CompliancePolicyDto = |a| a.compliance_policy_submit(&doc_id);
    fn compliance_policy_approve(doc_id: String) -> CompliancePolicyDto = |a| a.compliance_policy_approve(&doc_id);
    fn compliance_policy_reject(doc_id: String, reason: String) -> CompliancePolicyDto = |a| a.compliance_policy_reject(&doc_id, &reason);
    fn compliance_policy_publish(doc_id: String, minor: bool) -> CompliancePolicyDto = |a| a.compliance_policy_publish(&doc_id, minor);
    fn compliance_policy_reviewed(doc_id: String) -> CompliancePolicyDto = |a| a.compliance_policy_reviewed(&doc_id);
    fn compliance_assign(doc_id: String, target: String, due: String) -> AssignmentDto = |a| a.compliance_assign(&doc_id, &target, &due);
    fn compliance_unassign(doc_id: String, target: String) -> () = |a| a.compliance_unassign(&doc_id, &target);
    fn compliance_mine() -> Vec<ReadingDto> = |a| a.compliance_mine();
    fn compliance_acknowledge(doc_id: String) -> AckDto = |a| a.compliance_acknowledge(&doc_id);
    fn compliance_dashboard() -> ComplianceDashboardDto = |a| a.compliance_dashboard();
    fn compliance_remind() -> Vec<ReminderDto> = |a| a.compliance_remind();
    fn compliance_pack(path: String, organisation: String) -> PackDto = |a| a.compliance_pack(&path, &organisation);
}

/// Add documents; each file finished goes to the window as a
/// `docs-progress` event.
#[tauri::command(rename_all = "snake_case")]
pub async fn docs_add(state: S<'_>, window: AppHandle, args: DocAddArgs) -> R<Vec<DocAddedDto>> {
    let r = blocking(state.inner(), move |a| {
        a.docs_add(&args, &mut |p| {
            let _ = window.emit("docs-progress", p);
        })
    })
    .await;
    logged("docs_add", r)
}

/// Ask the library; the answer's text streams to the window as
/// `docs-answer` events.
#[tauri::command(rename_all = "snake_case")]
pub async fn docs_ask(state: S<'_>, window: AppHandle, question: String) -> R<DocAnswerDto> {
    let r = blocking(state.inner(), move |a| {
        a.docs_ask(&question, &mut |t| {
            let _ = window.emit("docs-answer", t);
        })
    })
    .await;
    logged("docs_ask", r)
}

/// Run an import; progress goes to the window as `import-progress` events.
#[tauri::command(rename_all = "snake_case")]
pub async fn import_run(state: S<'_>, window: AppHandle, args: ImportArgs) -> R<ImportReportDto> {
    let r = blocking(state.inner(), move |a| {
        a.import_run(&args, &mut |p| {
            let _ = window.emit("import-progress", p);
        })
    })
    .await;
    logged("import_run", r)
}

/// Dry-run a plugin; progress goes to the window as `studio-progress` events.
#[tauri::command(rename_all = "snake_case")]
pub async fn studio_dry_run(state: S<'_>, window: AppHandle, id: String) -> R<DryRunDto> {
    let r = blocking(state.inner(), move |a| {
        a.studio_dry_run(&id, &mut |p| {
            let _ = window.emit("studio-progress", p);
        })
    })
    .await;
    logged("studio_dry_run", r)
}

/// Enable from the Studio, maybe applying to existing records (progress as
/// `studio-progress` events).
#[tauri::command(rename_all = "snake_case")]
pub async fn studio_enable(
    state: S<'_>,
    window: AppHandle,
    id: String,
    grants: Vec<String>,
    apply_existing: bool,
) -> R<StudioEnabledDto> {
    let r = blocking(state.inner(), move |a| {
        a.studio_enable(&id, grants, apply_existing, &mut |p| {
            let _ = window.emit("studio-progress", p);
        })
    })
    .await;
    logged("studio_enable", r)
}

/// Every command, for the builder.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        profile_state,
        keyring_available,
        profile_create,
        profile_unlock,
        profile_lock,
        meta,
        contacts_page,
        contact_detail,
        contact_history,
        contact_create,
        contact_update,
        contact_delete,
        contact_log,
        policy_create,
        policy_schedule,
        payment_record,
        renewals,
        arrears,
        tasks,
        task_create,
        task_set_status,
        dashboard,
        export_contacts,
        import_preview,
        import_run,
        import_cancel,
        import_report_save,
        plugins,
        plugin_templates,
        plugin_install_template,
        plugin_install_file,
        plugin_enable,
        plugin_disable,
        plugin_uninstall,
        plugin_configure,
        plugin_run_action,
        studio_catalog,
        studio_field_values,
        studio_preview,
        studio_save,
        studio_model,
        studio_cancel,
        studio_dry_run,
        studio_enable,
        docs_list,
        docs_get,
        docs_versions,
        docs_add,
        docs_add_cancel,
        docs_publish,
        docs_retire,
        docs_set_audience,
        docs_set_details,
        docs_search,
        docs_ask,
        docs_ask_cancel,
        docs_page,
        compliance_meta,
        compliance_staff_list,
        compliance_staff_get,
        compliance_staff_create,
        compliance_staff_update,
        compliance_check_set,
        compliance_evidence_add,
        compliance_evidence_save,
        compliance_meeting_record,
        compliance_courses,
        compliance_course_add,
        compliance_course_edit,
        compliance_training_record,
        compliance_matrix,
        compliance_policies,
        compliance_policy_get,
        compliance_policy_register,
        compliance_policy_edit,
        compliance_policy_submit,
        compliance_policy_approve,
        compliance_policy_reject,
        compliance_policy_publish,
        compliance_policy_reviewed,
        compliance_assign,
        compliance_unassign,
        compliance_mine,
        compliance_acknowledge,
        compliance_dashboard,
        compliance_remind,
        compliance_pack,
        studio_reference,
        studio_sample,
        studio_sample_records,
        studio_records,
        studio_diagnose,
        studio_source,
        studio_console,
        studio_run_tests,
        studio_save_code,
        plugin_runs,
        catalog_view,
        catalog_set,
        catalog_publish_installed,
        catalog_publish_file,
        catalog_audit,
        catalog_set_local_plugins,
        catalog_distrust,
        catalog_apply_role_template,
        plugin_kept,
        plugin_kept_save,
        catalog_offers,
        catalog_install,
        admin_users,
        admin_invite,
        admin_set_user,
        admin_reset_password,
        admin_devices,
        admin_revoke_device,
        admin_audit,
        sync_change_password,
        studio_export_package,
        studio_save_folder,
        notices_take,
        sync_status,
        sync_login,
        sync_now,
        sync_state,
        sync_set_aside,
        sync_retry,
        sync_discard,
        settings,
        settings_set_region,
        settings_set_ai,
        settings_set_developer_mode,
    ]
}

/// Automatic sync: every quarter second (at once when the server's notice
/// arrives) the app is asked whether a sync is due (after a change, on a
/// notice, on start, periodically, after a backoff) and runs it if so, on
/// a thread of its own so no command waits for it.
/// When a sync brought changes from other devices, the window hears
/// `records-changed` and its screens load their records again.
pub fn start_auto_sync(app: Arc<App>, handle: tauri::AppHandle) {
    use tauri::Emitter;
    std::thread::spawn(move || {
        let mut seen = app.arrivals();
        loop {
            app.wait_for_sync(std::time::Duration::from_millis(250));
            if let Err(e) = app.sync_auto() {
                if e.code != crm_app::ErrorCode::Locked {
                    tracing::warn!(code = %e.code, "automatic sync could not run");
                }
            }
            let now = app.arrivals();
            if now != seen {
                seen = now;
                let _ = handle.emit("records-changed", now);
            }
        }
    });
}

/// The server's notices that changes wait, on a thread of their own
/// (the stream lasts minutes). While the server is away, or nobody is
/// signed in, it tries again after a pause that doubles up to a minute,
/// with jitter, so devices that lose the server together do not all come
/// back at the same moment; opening the profile or signing in cuts the
/// pause short.
pub fn start_change_listener(app: Arc<App>) {
    use rand::Rng;
    std::thread::spawn(move || {
        let mut pause = std::time::Duration::from_secs(1);
        loop {
            match app.listen_for_changes() {
                Ok(()) => pause = std::time::Duration::from_secs(1),
                Err(e) => {
                    if !matches!(
                        e.code,
                        crm_app::ErrorCode::Locked
                            | crm_app::ErrorCode::Offline
                            | crm_app::ErrorCode::SignedOut
                    ) {
                        tracing::warn!(code = %e.code, "listening for changes failed");
                    }
                    let spread = pause.mul_f64(rand::thread_rng().gen_range(0.0..0.5));
                    pause = if app.pause_listening(pause + spread) {
                        // Opened or signed in meanwhile: try now.
                        std::time::Duration::from_secs(1)
                    } else {
                        (pause * 2).min(std::time::Duration::from_secs(60))
                    };
                }
            }
        }
    });
}

/// Every minute: due plugin schedules and pending hooks (nothing while the
/// profile is locked).
pub fn start_ticker(app: Arc<App>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
        if let Err(e) = app.tick() {
            if e.code != crm_app::ErrorCode::Locked {
                tracing::warn!(code = %e.code, "plugin tick failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    //! The one command list (`command_names.rs`, which the build script turns
    //! into permissions) must match what the shell registers, what the
    //! window's capability grants, and what the UI calls: a command the UI
    //! does not call is not granted, and one it calls is not forgotten.
    use std::collections::BTreeSet;

    use crate::command_names::COMMANDS;

    fn listed() -> BTreeSet<String> {
        let set: BTreeSet<String> = COMMANDS.iter().map(|s| s.to_string()).collect();
        assert_eq!(set.len(), COMMANDS.len(), "a command is listed twice");
        set
    }

    #[test]
    fn the_handler_registers_exactly_the_listed_commands() {
        let src = include_str!("commands.rs");
        let start = src.find("generate_handler![").expect("handler list") + 18;
        let end = start + src[start..].find(']').expect("end of handler list");
        let registered: BTreeSet<String> = src[start..end]
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(registered, listed());
    }

    #[test]
    fn the_capability_grants_exactly_the_listed_commands() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).expect("json");
        let granted: BTreeSet<String> = cap["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter_map(|p| p.strip_prefix("allow-"))
            .map(|p| p.replace('-', "_"))
            .collect();
        assert_eq!(granted, listed());
        // Nothing broad: no default sets, no plugin beyond events and dialogs.
        for p in cap["permissions"].as_array().expect("permissions") {
            let p = p.as_str().expect("permission names only");
            assert!(
                p.starts_with("allow-")
                    || p.starts_with("core:event:allow-")
                    || p == "dialog:allow-open"
                    || p == "dialog:allow-save",
                "unexpected grant {p}"
            );
        }
    }

    #[test]
    fn the_ui_calls_exactly_the_listed_commands() {
        let api = include_str!("../../src-ui/src/api.ts");
        let mut called = BTreeSet::new();
        for (i, _) in api.match_indices(">('") {
            // `call<T>('name'`, `mutate<T>('name'`, `invoke<T>('name'`;
            // not `listen<T>('event'`.
            let before = &api[..i];
            let open = before.rfind('<').expect("type argument");
            if !["call", "mutate", "invoke"]
                .iter()
                .any(|f| before[..open].ends_with(f))
            {
                continue;
            }
            let rest = &api[i + 3..];
            let name = &rest[..rest.find('\'').expect("closing quote")];
            called.insert(name.to_string());
        }
        assert_eq!(called, listed());
    }
}
