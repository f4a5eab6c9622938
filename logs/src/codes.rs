//! The table of known log type codes, their levels (0 debug … 4 critical) and descriptions: Auth0's
//! codes as the log-export extensions documented them, `sapi`/`fapi` for management calls, and
//! Actionflow's own (`af_*`). A host may send codes outside the table only with the custom `x_`
//! prefix and a level of its own.

/// Levels from least to most severe.
pub const LEVEL_MAX: u8 = 4;

/// The prefix of a host's custom codes, which carry their own level.
pub const CUSTOM_PREFIX: &str = "x_";

/// One known code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub level: u8,
    pub description: &'static str,
}

const fn c(code: &'static str, level: u8, description: &'static str) -> Code {
    Code {
        code,
        level,
        description,
    }
}

/// Every known code, by code.
pub const CODES: &[Code] = &[
    c("af_deploy", 1, "Action deployed"),
    c("af_deploy_failed", 3, "Action deploy failed"),
    c(
        "af_dispatch",
        1,
        "Trigger dispatched: every action completed",
    ),
    c(
        "af_dispatch_failed",
        3,
        "Trigger dispatched: an action failed or denied",
    ),
    c("api_limit", 4, "Rate limit on API"),
    c("cls", 0, "Code/link sent"),
    c("coff", 3, "Connector offline"),
    c("con", 1, "Connector online"),
    c("cs", 0, "Code sent"),
    c("du", 1, "Deleted user"),
    c("f", 3, "Failed login"),
    c("fapi", 3, "Failed management API operation"),
    c("fc", 3, "Failed by connector"),
    c("fce", 3, "Failed change email"),
    c("fco", 3, "Failed by CORS"),
    c("fcp", 3, "Failed change password"),
    c("fcpn", 3, "Failed change phone number"),
    c("fcpr", 3, "Failed change password request"),
    c("fcpro", 4, "Failed connector provisioning"),
    c("fcu", 3, "Failed change username"),
    c("fdu", 3, "Failed user deletion"),
    c("feacft", 3, "Failed exchange"),
    c("fn", 3, "Failed sending notification"),
    c("fp", 3, "Failed login (wrong password)"),
    c("fs", 3, "Failed signup"),
    c("fu", 3, "Failed login (invalid email/username)"),
    c("fv", 0, "Failed verification email"),
    c("fvr", 3, "Failed verification email request"),
    c("limit_ui", 4, "Too many calls to /userinfo"),
    c("limit_wc", 4, "Blocked account"),
    c("s", 1, "Success login"),
    c("sapi", 1, "Success management API operation"),
    c("sce", 1, "Success change email"),
    c("scp", 1, "Success change password"),
    c("scpn", 1, "Success change phone number"),
    c("scpr", 0, "Success change password request"),
    c("scu", 1, "Success change username"),
    c("sdu", 1, "Successful user deletion"),
    c("seacft", 1, "Success exchange"),
    c("ss", 1, "Success signup"),
    c("sv", 0, "Success verification email"),
    c("svr", 0, "Success verification email request"),
    c("w", 2, "Warnings during login"),
];

/// The known code `code`, if it is one.
pub fn lookup(code: &str) -> Option<&'static Code> {
    CODES
        .binary_search_by(|known| known.code.cmp(code))
        .ok()
        .map(|i| &CODES[i])
}

/// Whether `code` is a host's custom code (`x_` and at least one more character).
pub fn is_custom(code: &str) -> bool {
    code.len() > CUSTOM_PREFIX.len() && code.starts_with(CUSTOM_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_levels_are_in_range() {
        for pair in CODES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        assert!(CODES.iter().all(|c| c.level <= LEVEL_MAX));
        assert_eq!(lookup("limit_wc").map(|c| c.level), Some(4));
        assert_eq!(lookup("fp").map(|c| c.level), Some(3));
        assert_eq!(lookup("nope"), None);
        assert!(is_custom("x_mfa") && !is_custom("x_") && !is_custom("s"));
    }
}
