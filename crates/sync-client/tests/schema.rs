//! The server's idea of the synced tables equals the client store's columns.

use crm_core::Table;

#[test]
fn protocol_schema_matches_the_core_tables() {
    let core = [
        Table::Contacts,
        Table::Policies,
        Table::Payments,
        Table::Tasks,
        Table::Activities,
    ];
    assert_eq!(crm_protocol::schema::TABLES.len(), core.len());
    for t in core {
        assert_eq!(
            crm_protocol::schema::fields(t.name()),
            Some(t.fields()),
            "table {}",
            t.name()
        );
    }
}
