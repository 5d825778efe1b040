//! The TypeScript declarations of every type that crosses IPC, as one file
//! (`src-ui/src/bindings.ts`). `tests/bindings.rs` fails when the committed
//! file differs; `UPDATE_BINDINGS=1 cargo test -p crm-app --test bindings`
//! rewrites it.

use ts_rs::TS;

use crate::admin_console::*;
use crate::catalog::*;
use crate::compliance::*;
use crate::compliance_policies::*;
use crate::compliance_training::*;
use crate::documents::*;
use crate::dto::*;
use crate::history::*;
use crate::studio::*;
use crate::studio_code::*;
use crate::studio_console::*;
use crate::studio_history::*;
use crate::studio_sample::*;
use crate::studio_share::*;
use crate::{ApiError, ErrorCode};

macro_rules! decls {
    ($($t:ty),* $(,)?) => {
        vec![$(<$t as TS>::decl()),*]
    };
}

/// The file's text.
pub fn typescript() -> String {
    let mut out = String::from(
        "// Generated from the Rust types in crates/app/src/dto.rs by ts-rs. Do not edit:\n\
         // run `UPDATE_BINDINGS=1 cargo test -p crm-app --test bindings` after changing them.\n\n\
         export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;\n\n",
    );
    let all = decls![
        DocumentDto,
        DocumentPageDto,
        DocsQueryArgs,
        DocVersionDto,
        DocAddArgs,
        DocAddedDto,
        DocAddProgressDto,
        DocDetailsArgs,
        DocHitDto,
        DocAnswerDto,
        DocPageViewDto,
        StandingDto,
        ComplianceAccessDto,
        CheckFieldDto,
        CheckItemDto,
        StatementDto,
        KeyQuestionDto,
        ComplianceMetaDto,
        StaffQueryArgs,
        StaffDto,
        StaffForm,
        EvidenceDto,
        CheckDto,
        CheckArgs,
        TrainingRecordDto,
        MeetingDto,
        MeetingForm,
        ScheduleDto,
        StaffDetailDto,
        CourseDto,
        CourseForm,
        TrainingForm,
        MatrixQueryArgs,
        MatrixCellDto,
        MatrixRowDto,
        CourseTotalsDto,
        MatrixDto,
        CompliancePolicyDto,
        CompliancePolicyForm,
        AssignmentDto,
        AckStateDto,
        PersonAckDto,
        AckStatusDto,
        PolicyDetailDto,
        ReadingDto,
        AckDto,
        CoverageDto,
        ComplianceDashboardDto,
        ReminderDto,
        PackCourseDto,
        PackVettingDto,
        PackKeyQuestionDto,
        PackDto,
        ApiError,
        ErrorCode,
        ProfileState,
        Meta,
        DetailSpec,
        ContactRow,
        ContactQueryArgs,
        ContactPage,
        ContactDto,
        ContactForm,
        PolicyDto,
        PolicyForm,
        PaymentDto,
        PaymentForm,
        ArrearsDto,
        RenewalDto,
        TaskDto,
        TaskForm,
        TaskView,
        ActivityDto,
        HistoryAction,
        FieldChangeDto,
        HistoryEntryDto,
        PluginActionDto,
        PluginPanel,
        ContactDetail,
        Dashboard,
        ColumnDto,
        ImportPreview,
        ColumnChoice,
        ImportArgs,
        ImportProgress,
        RowProblemDto,
        ImportReportDto,
        PermissionDto,
        PluginOrigin,
        SettingFieldDto,
        HealthDto,
        PluginDto,
        TemplateDto,
        StudioTriggerDto,
        StudioFieldDto,
        StudioSubjectDto,
        StudioOpDto,
        StudioKindOpsDto,
        StudioChoiceDto,
        StudioCatalogDto,
        StudioProblemDto,
        StudioPreviewDto,
        DryFieldDto,
        DryChangeDto,
        DryRequestDto,
        DryRecordDto,
        DryRunDto,
        StudioSampleDto,
        SampleRecordDto,
        StudioProgressDto,
        StudioEnabledDto,
        HostFnDto,
        RecordFieldsDto,
        EditorReferenceDto,
        EditorFixDto,
        EditorDiagnosticDto,
        PluginSourceDto,
        PluginFileDto,
        ConsoleRunArgs,
        ConsoleResultDto,
        PluginTestDto,
        PluginRunDto,
        PackageExportDto,
        CatalogPluginDto,
        CatalogPublisherDto,
        KeptPluginDataDto,
        CatalogOfferDto,
        CatalogSettingFieldDto,
        AudienceArgs,
        AdminUserDto,
        OneTimePasswordDto,
        AdminUserChangeArgs,
        AdminDeviceDto,
        AdminAuditDto,
        PluginVersionHealthDto,
        RoleTemplateDiffDto,
        CatalogViewDto,
        CatalogSetArgs,
        CatalogAuditDto,
        ActionResult,
        NoticeDto,
        SyncStatusDto,
        SyncReportDto,
        SyncState,
        SyncStateDto,
        SetAsideDto,
        LoginArgs,
        SettingsDto,
        AiSettingsArgs,
    ];
    // The record enums, from their one declaration (the synced schema):
    // DTO fields name these types (`#[ts(type = "Stage")]`).
    use crm_protocol::schema as declared;
    let unions: [(&str, &[&str]); 7] = [
        ("ContactKind", declared::CONTACT_KINDS),
        ("Stage", declared::STAGES),
        ("PaymentFrequency", declared::PAYMENT_FREQUENCIES),
        ("PolicyStatus", declared::POLICY_STATUSES),
        ("PaymentMethod", declared::PAYMENT_METHODS),
        ("TaskStatus", declared::TASK_STATUSES),
        ("ActivityKind", declared::ACTIVITY_KINDS),
    ];
    for (name, values) in unions {
        let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
        out.push_str(&format!("export type {name} = {};\n\n", quoted.join(" | ")));
    }
    // A contact's declared field names: the form's field list is typed
    // with them, so a name the schema does not declare fails to compile.
    let fields: Vec<String> = declared::CONTACTS
        .fields
        .iter()
        .map(|f| format!("\"{}\"", f.name))
        .collect();
    out.push_str(&format!(
        "export type ContactFieldName = {};\n\n",
        fields.join(" | ")
    ));
    for d in all {
        out.push_str("export ");
        out.push_str(d.trim());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
