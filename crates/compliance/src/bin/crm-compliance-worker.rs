//! The extraction worker, for this crate's tests (which add policy
//! documents to a real library); the `crm` and desktop executables are
//! their own workers.

fn main() {
    crm_extract::run_worker_if_asked();
    std::process::exit(2);
}
