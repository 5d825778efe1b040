//! The extraction worker, for this crate's tests (which add documents to a
//! real library, e.g. to make one a policy); the desktop executable is its
//! own worker.

fn main() {
    crm_extract::run_worker_if_asked();
    std::process::exit(2);
}
