//! The fail2ban filter and jail the README shows are the files in
//! contrib/fail2ban (which the end-to-end suite checks with the real
//! fail2ban-regex against the real binary's log, tests/e2e/fail2ban.rs).

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_readme_carries_the_fail2ban_filter_and_jail_verbatim() {
    let readme = read("README.md");
    for file in [
        "contrib/fail2ban/filter.d/romgate.conf",
        "contrib/fail2ban/jail.d/romgate.local",
    ] {
        let text = read(file);
        assert!(
            readme.contains(text.trim_end()),
            "README.md must show {file} exactly as it is (copy the file into its code block):\n{text}"
        );
    }
}
