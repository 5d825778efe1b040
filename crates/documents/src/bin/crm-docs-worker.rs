//! The extraction worker on its own, for tests and tools that are not the
//! `crm` or desktop executables (which are their own workers).

fn main() {
    crm_extract::run_worker_if_asked();
    eprintln!(
        "this is the documents library's extraction worker; it is started by the CRM, not by hand"
    );
    std::process::exit(2);
}
