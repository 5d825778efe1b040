// The one door to the Rust side: a typed function per Tauri command.
//
// Argument keys are snake_case exactly as the commands declare them. Every
// rejection is normalised to `ApiError`. After each command that changes
// something, the backend's queued notices (plugin messages, warnings) are
// taken and handed to the notice sink, so no screen can forget to show them.

import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  ActionResult,
  ActivityDto,
  HistoryEntryDto,
  AiSettingsArgs,
  ArrearsDto,
  ColumnChoice,
  ContactDetail,
  ContactDto,
  ContactForm,
  ContactPage,
  ContactQueryArgs,
  Dashboard,
  ImportArgs,
  ImportPreview,
  ImportProgress,
  ImportReportDto,
  LoginArgs,
  Meta,
  NoticeDto,
  PaymentDto,
  PaymentForm,
  PluginDto,
  PolicyDto,
  PolicyForm,
  ProfileState,
  RenewalDto,
  SettingsDto,
  DryRunDto,
  CatalogAuditDto,
  CatalogSetArgs,
  KeptPluginDataDto,
  CatalogOfferDto,
  AdminUserDto,
  OneTimePasswordDto,
  AdminUserChangeArgs,
  AdminDeviceDto,
  AdminAuditDto,
  CatalogViewDto,
  ConsoleResultDto,
  ConsoleRunArgs,
  PackageExportDto,
  PluginFileDto,
  PluginRunDto,
  PluginTestDto,
  EditorDiagnosticDto,
  EditorReferenceDto,
  PluginSourceDto,
  StudioCatalogDto,
  StudioEnabledDto,
  StudioPreviewDto,
  StudioProgressDto,
  StudioSampleDto,
  SampleRecordDto,
  SyncReportDto,
  SetAsideDto,
  SyncStateDto,
  SyncStatusDto,
  TaskDto,
  TaskForm,
  TaskView,
  TemplateDto,
  DocAddArgs,
  DocAddedDto,
  DocAddProgressDto,
  DocAnswerDto,
  DocDetailsArgs,
  DocHitDto,
  DocPageViewDto,
  DocsQueryArgs,
  DocumentDto,
  DocumentPageDto,
  DocVersionDto,
  AckDto,
  AssignmentDto,
  CheckArgs,
  CheckDto,
  ComplianceDashboardDto,
  ComplianceMetaDto,
  CompliancePolicyDto,
  CompliancePolicyForm,
  CourseDto,
  CourseForm,
  EvidenceDto,
  MatrixDto,
  MatrixQueryArgs,
  MeetingDto,
  MeetingForm,
  PackDto,
  PolicyDetailDto,
  ReadingDto,
  ReminderDto,
  StaffDetailDto,
  StaffDto,
  StaffForm,
  StaffQueryArgs,
  TrainingForm,
  TrainingRecordDto,
} from './bindings';
import { toApiError, type ApiError } from './lib/api-error';

export type { ApiError };

type Args = Record<string, unknown>;

let noticeSink: (notices: NoticeDto[]) => void = () => {};
let lockedHandler: () => void = () => {};

/** Where notices taken after mutating commands go (the toast area). */
export function setNoticeSink(sink: (notices: NoticeDto[]) => void): void {
  noticeSink = sink;
}

/** Called when any command reports that the profile is locked. */
export function setLockedHandler(handler: () => void): void {
  lockedHandler = handler;
}

async function call<T>(cmd: string, args?: Args): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const err = toApiError(e);
    if (err.code === 'locked') lockedHandler();
    throw err;
  }
}

/** Drain the backend's notices into the sink; never fails. */
export async function drainNotices(): Promise<void> {
  try {
    const notices = await invoke<NoticeDto[]>('notices_take');
    if (Array.isArray(notices) && notices.length > 0) noticeSink(notices);
  } catch {
    // No profile open, or the shell is gone: nothing to show.
  }
}

/** A command that changes something: notices are taken afterwards, even when it fails. */
async function mutate<T>(cmd: string, args?: Args): Promise<T> {
  try {
    return await call<T>(cmd, args);
  } finally {
    void drainNotices();
  }
}

// ---- profile -------------------------------------------------------------

export const profileState = () => call<ProfileState>('profile_state');
export const keyringAvailable = () => call<boolean>('keyring_available');
export const profileCreate = (passphrase: string | null, region: string) =>
  mutate<ProfileState>('profile_create', { passphrase, region });
export const profileUnlock = (passphrase: string) =>
  mutate<ProfileState>('profile_unlock', { passphrase });
export const profileLock = () => call<ProfileState>('profile_lock');
export const meta = () => call<Meta>('meta');

// ---- contacts ------------------------------------------------------------

export const contactsPage = (q: ContactQueryArgs) => call<ContactPage>('contacts_page', { q });
export const contactDetail = (contactId: string) =>
  call<ContactDetail>('contact_detail', { contact_id: contactId });
export const contactHistory = (contactId: string) =>
  call<HistoryEntryDto[]>('contact_history', { contact_id: contactId });
export const contactCreate = (form: ContactForm) => mutate<ContactDto>('contact_create', { form });
export const contactUpdate = (contactId: string, form: ContactForm) =>
  mutate<ContactDto>('contact_update', { contact_id: contactId, form });
export const contactDelete = (contactId: string) =>
  mutate<null>('contact_delete', { contact_id: contactId });
export const contactLog = (contactId: string, kind: string, text: string) =>
  mutate<ActivityDto>('contact_log', { contact_id: contactId, kind, text });

// ---- policies and payments -----------------------------------------------

export const policyCreate = (form: PolicyForm) => mutate<PolicyDto>('policy_create', { form });
export const policySchedule = (policyId: string) =>
  mutate<PaymentDto[]>('policy_schedule', { policy_id: policyId });
export const paymentRecord = (form: PaymentForm) => mutate<PaymentDto>('payment_record', { form });
export const renewals = (days: number) => call<RenewalDto[]>('renewals', { days });
export const arrears = () => call<ArrearsDto[]>('arrears');

// ---- tasks and dashboard -------------------------------------------------

export const tasks = (view: TaskView) => call<TaskDto[]>('tasks', { view });
export const taskCreate = (form: TaskForm) => mutate<TaskDto>('task_create', { form });
export const taskSetStatus = (taskId: string, status: string) =>
  mutate<TaskDto>('task_set_status', { task_id: taskId, status });
export const dashboard = () => call<Dashboard>('dashboard');

// ---- import and export ---------------------------------------------------

export const exportContacts = (path: string) => call<number>('export_contacts', { path });
export const importPreview = (path: string, mappings: ColumnChoice[]) =>
  call<ImportPreview>('import_preview', { path, mappings });
export const importRun = (args: ImportArgs) => mutate<ImportReportDto>('import_run', { args });
export const importCancel = () => call<boolean>('import_cancel');
export const importReportSave = (path: string) => call<null>('import_report_save', { path });

/** Subscribe to the running import's progress; resolves to the unsubscribe function. */
export function onImportProgress(handler: (p: ImportProgress) => void): Promise<UnlistenFn> {
  return listen<ImportProgress>('import-progress', (event) => handler(event.payload));
}

// ---- sync ----------------------------------------------------------------

/** Subscribe to "records arrived from other devices" (a sync brought changes). */
export function onRecordsChanged(handler: () => void): Promise<UnlistenFn> {
  return listen<number>('records-changed', () => handler());
}

// ---- plugins -------------------------------------------------------------

export const plugins = () => call<PluginDto[]>('plugins');
export const pluginTemplates = () => call<TemplateDto[]>('plugin_templates');
export const pluginInstallTemplate = (name: string) =>
  mutate<PluginDto>('plugin_install_template', { name });
export const pluginInstallFile = (path: string) => mutate<PluginDto>('plugin_install_file', { path });
export const pluginEnable = (id: string, grants: string[]) =>
  mutate<PluginDto>('plugin_enable', { id, grants });
export const pluginDisable = (id: string) => mutate<PluginDto>('plugin_disable', { id });
export const pluginUninstall = (id: string, exportPath: string | null) =>
  mutate<null>('plugin_uninstall', { id, export_path: exportPath });
export const pluginConfigure = (id: string, values: Record<string, string>) =>
  mutate<PluginDto>('plugin_configure', { id, values });
export const pluginRunAction = (id: string, action: string, record: string | null) =>
  mutate<ActionResult>('plugin_run_action', { id, action, record });

// ---- studio --------------------------------------------------------------

export const studioCatalog = () => call<StudioCatalogDto>('studio_catalog');
export const studioFieldValues = (field: string) => call<string[]>('studio_field_values', { field });
export const studioPreview = (model: string) => call<StudioPreviewDto>('studio_preview', { model });
export const studioSave = (model: string, replace: boolean) => mutate<PluginDto>('studio_save', { model, replace });
export const studioModel = (id: string) => call<string | null>('studio_model', { id });
export const studioDryRun = (id: string) => call<DryRunDto>('studio_dry_run', { id });
export const studioCancel = () => call<boolean>('studio_cancel');
export const studioEnable = (id: string, grants: string[], applyExisting: boolean) =>
  mutate<StudioEnabledDto>('studio_enable', { id, grants, apply_existing: applyExisting });

export const studioRecords = (kind: string) => call<SampleRecordDto[]>('studio_records', { kind });
export const studioSampleRecords = (model: string) => call<SampleRecordDto[]>('studio_sample_records', { model });
export const studioSample = (model: string, record: string) =>
  call<StudioSampleDto[]>('studio_sample', { model, record });
export const studioReference = () => call<EditorReferenceDto>('studio_reference');
export const studioDiagnose = (manifest: string, script: string) =>
  call<EditorDiagnosticDto[]>('studio_diagnose', { manifest, script });
export const studioSource = (id: string) => call<PluginSourceDto>('studio_source', { id });
export const studioConsole = (args: ConsoleRunArgs) =>
  args.for_real ? mutate<ConsoleResultDto>('studio_console', { args }) : call<ConsoleResultDto>('studio_console', { args });
export const studioRunTests = (manifest: string, script: string, tests: PluginFileDto[]) =>
  call<PluginTestDto[]>('studio_run_tests', { manifest, script, tests });
export const studioSaveCode = (manifest: string, script: string, tests: PluginFileDto[]) =>
  mutate<PluginDto>('studio_save_code', { manifest, script, tests });
export const catalogView = () => call<CatalogViewDto>('catalog_view');
export const catalogSet = (id: string, args: CatalogSetArgs) => mutate<CatalogViewDto>('catalog_set', { id, args });
export const catalogPublishInstalled = (id: string, mode: string, grants: string[]) =>
  mutate<CatalogViewDto>('catalog_publish_installed', { id, mode, grants });
export const catalogPublishFile = (path: string, mode: string, grants: string[]) =>
  mutate<CatalogViewDto>('catalog_publish_file', { path, mode, grants });
export const catalogAudit = () => call<CatalogAuditDto[]>('catalog_audit');
export const catalogSetLocalPlugins = (who: string) => mutate<CatalogViewDto>('catalog_set_local_plugins', { who });
export const adminUsers = () => call<AdminUserDto[]>('admin_users');
export const adminInvite = (email: string, role: string, team: string | null) => mutate<OneTimePasswordDto>('admin_invite', { email, role, team });
export const adminSetUser = (id: string, change: AdminUserChangeArgs) => mutate<AdminUserDto[]>('admin_set_user', { id, change });
export const adminResetPassword = (id: string) => mutate<OneTimePasswordDto>('admin_reset_password', { id });
export const adminDevices = () => call<AdminDeviceDto[]>('admin_devices');
export const adminRevokeDevice = (id: string) => mutate<AdminDeviceDto[]>('admin_revoke_device', { id });
export const adminAudit = () => call<AdminAuditDto[]>('admin_audit');
export const syncChangePassword = (current: string, next: string) => mutate<SyncStatusDto>('sync_change_password', { current, new: next });
export const catalogOffers = () => call<CatalogOfferDto[]>('catalog_offers');
export const catalogInstall = (id: string) => mutate<PluginDto>('catalog_install', { id });
export const pluginKept = () => call<KeptPluginDataDto[]>('plugin_kept');
export const pluginKeptSave = (id: string, path: string) => call<null>('plugin_kept_save', { id, path });
export const catalogApplyRoleTemplate = (id: string, name: string) => mutate<CatalogViewDto>('catalog_apply_role_template', { id, name });
export const catalogDistrust = (publicKey: string) => mutate<CatalogViewDto>('catalog_distrust', { public_key: publicKey });
export const pluginRuns = (id: string, limit = 200) => call<PluginRunDto[]>('plugin_runs', { id, limit });
export const studioExportPackage = (id: string, path: string) => call<PackageExportDto>('studio_export_package', { id, path });
export const studioSaveFolder = (id: string, dir: string) => call<string[]>('studio_save_folder', { id, dir });

/** Subscribe to a dry run's (or an apply's) progress; resolves to the unsubscribe function. */
export function onStudioProgress(handler: (p: StudioProgressDto) => void): Promise<UnlistenFn> {
  return listen<StudioProgressDto>('studio-progress', (event) => handler(event.payload));
}

// ---- sync ----------------------------------------------------------------

export const syncStatus = () => call<SyncStatusDto>('sync_status');
export const syncLogin = (args: LoginArgs) => mutate<SyncStatusDto>('sync_login', { args });
export const syncNow = () => mutate<SyncReportDto>('sync_now');
export const syncState = () => call<SyncStateDto>('sync_state');
export const syncSetAside = () => call<SetAsideDto[]>('sync_set_aside');
export const syncRetry = (opId: string) => mutate<SyncStatusDto>('sync_retry', { op_id: opId });
export const syncDiscard = (opId: string) => mutate<SyncStatusDto>('sync_discard', { op_id: opId });

// ---- settings ------------------------------------------------------------

export const settings = () => call<SettingsDto>('settings');
export const settingsSetRegion = (code: string) => mutate<SettingsDto>('settings_set_region', { code });
export const settingsSetAi = (args: AiSettingsArgs) => mutate<SettingsDto>('settings_set_ai', { args });
export const settingsSetDeveloperMode = (on: boolean) =>
  mutate<SettingsDto>('settings_set_developer_mode', { on });

// ---- documents -----------------------------------------------------------

export const docsList = (q: DocsQueryArgs) => call<DocumentPageDto>('docs_list', { q });
export const docsGet = (id: string) => call<DocumentDto>('docs_get', { id });
export const docsVersions = (id: string) => call<DocVersionDto[]>('docs_versions', { id });
export const docsAdd = (args: DocAddArgs) => mutate<DocAddedDto[]>('docs_add', { args });
export const docsAddCancel = () => call<boolean>('docs_add_cancel');
export const docsPublish = (id: string) => mutate<DocumentDto>('docs_publish', { id });
export const docsRetire = (id: string) => mutate<DocumentDto>('docs_retire', { id });
export const docsSetAudience = (id: string, audience: string[]) => mutate<DocumentDto>('docs_set_audience', { id, audience });
export const docsSetDetails = (id: string, details: DocDetailsArgs) => mutate<DocumentDto>('docs_set_details', { id, details });
export const docsSearch = (query: string, limit = 20) => call<DocHitDto[]>('docs_search', { query, limit });
export const docsAsk = (question: string) => mutate<DocAnswerDto>('docs_ask', { question });
export const docsAskCancel = () => call<null>('docs_ask_cancel');
export const docsPage = (id: string, version: number, page: number) => call<DocPageViewDto>('docs_page', { id, version, page });

/** Subscribe to an add's per-file progress; resolves to the unsubscribe function. */
export function onDocsProgress(handler: (p: DocAddProgressDto) => void): Promise<UnlistenFn> {
  return listen<DocAddProgressDto>('docs-progress', (event) => handler(event.payload));
}

/** Subscribe to an answer's text as it streams. */
export function onDocsAnswer(handler: (text: string) => void): Promise<UnlistenFn> {
  return listen<string>('docs-answer', (event) => handler(event.payload));
}

// ---- compliance ----------------------------------------------------------

export const complianceMeta = () => call<ComplianceMetaDto>('compliance_meta');
export const complianceStaffList = (q: StaffQueryArgs) => call<StaffDto[]>('compliance_staff_list', { q });
export const complianceStaffGet = (id: string) => call<StaffDetailDto>('compliance_staff_get', { id });
export const complianceStaffCreate = (form: StaffForm) => mutate<StaffDto>('compliance_staff_create', { form });
export const complianceStaffUpdate = (id: string, form: StaffForm) => mutate<StaffDto>('compliance_staff_update', { id, form });
export const complianceCheckSet = (staffId: string, item: string, args: CheckArgs) =>
  mutate<CheckDto>('compliance_check_set', { staff_id: staffId, item, args });
export const complianceEvidenceAdd = (staffId: string, item: string, path: string) =>
  mutate<EvidenceDto>('compliance_evidence_add', { staff_id: staffId, item, path });
export const complianceEvidenceSave = (id: string, path: string) => call<EvidenceDto>('compliance_evidence_save', { id, path });
export const complianceMeetingRecord = (staffId: string, form: MeetingForm) =>
  mutate<MeetingDto>('compliance_meeting_record', { staff_id: staffId, form });
export const complianceCourses = (includeInactive: boolean) => call<CourseDto[]>('compliance_courses', { include_inactive: includeInactive });
export const complianceCourseAdd = (form: CourseForm) => mutate<CourseDto>('compliance_course_add', { form });
export const complianceCourseEdit = (id: string, form: CourseForm) => mutate<CourseDto>('compliance_course_edit', { id, form });
export const complianceTrainingRecord = (form: TrainingForm) => mutate<TrainingRecordDto>('compliance_training_record', { form });
export const complianceMatrix = (q: MatrixQueryArgs) => call<MatrixDto>('compliance_matrix', { q });
export const compliancePolicies = () => call<CompliancePolicyDto[]>('compliance_policies');
export const compliancePolicyGet = (docId: string) => call<PolicyDetailDto>('compliance_policy_get', { doc_id: docId });
export const compliancePolicyRegister = (docId: string, form: CompliancePolicyForm) =>
  mutate<CompliancePolicyDto>('compliance_policy_register', { doc_id: docId, form });
export const compliancePolicyEdit = (docId: string, form: CompliancePolicyForm) =>
  mutate<CompliancePolicyDto>('compliance_policy_edit', { doc_id: docId, form });
export const compliancePolicySubmit = (docId: string) => mutate<CompliancePolicyDto>('compliance_policy_submit', { doc_id: docId });
export const compliancePolicyApprove = (docId: string) => mutate<CompliancePolicyDto>('compliance_policy_approve', { doc_id: docId });
export const compliancePolicyReject = (docId: string, reason: string) =>
  mutate<CompliancePolicyDto>('compliance_policy_reject', { doc_id: docId, reason });
export const compliancePolicyPublish = (docId: string, minor: boolean) =>
  mutate<CompliancePolicyDto>('compliance_policy_publish', { doc_id: docId, minor });
export const compliancePolicyReviewed = (docId: string) => mutate<CompliancePolicyDto>('compliance_policy_reviewed', { doc_id: docId });
export const complianceAssign = (docId: string, target: string, due: string) =>
  mutate<AssignmentDto>('compliance_assign', { doc_id: docId, target, due });
export const complianceUnassign = (docId: string, target: string) => mutate<null>('compliance_unassign', { doc_id: docId, target });
export const complianceMine = () => call<ReadingDto[]>('compliance_mine');
export const complianceAcknowledge = (docId: string) => mutate<AckDto>('compliance_acknowledge', { doc_id: docId });
export const complianceDashboard = () => call<ComplianceDashboardDto>('compliance_dashboard');
export const complianceRemind = () => mutate<ReminderDto[]>('compliance_remind');
export const compliancePack = (path: string, organisation: string) => call<PackDto>('compliance_pack', { path, organisation });
