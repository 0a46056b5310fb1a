//! `romgate config`: the effective configuration, one variable a line, as
//! `config::effective` gives it (secrets masked there).

use std::collections::HashMap;

use crate::config::{Config, Source};

pub(super) fn print(config: &Config) {
    // Loading the configuration already refused what this would.
    let vars: HashMap<String, String> = crate::config::process_vars().unwrap_or_default();
    let settings = config.effective(&vars);
    let width = settings.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for setting in settings {
        let value = if setting.source == Source::Unset {
            "-"
        } else {
            setting.value.as_str()
        };
        // The value is escaped: one variable stays on one line.
        println!(
            "{:width$}  {}  ({})",
            setting.name,
            value.escape_debug(),
            setting.source
        );
    }
}
