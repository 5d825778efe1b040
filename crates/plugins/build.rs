// The templates are built into the binary (include_dir): rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=../../scripts-templates");
}
