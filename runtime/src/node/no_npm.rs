//! deno_node's resolver services are not used (`require` is ours); its extension still names their
//! types. Shared with build.rs, which names the same extension.

pub(crate) struct NoNpmPackages;

impl node_resolver::InNpmPackageChecker for NoNpmPackages {
    fn in_npm_package(&self, _specifier: &url::Url) -> bool {
        false
    }
}

impl node_resolver::NpmPackageFolderResolver for NoNpmPackages {
    fn resolve_package_folder_from_package(
        &self,
        specifier: &str,
        referrer: &node_resolver::UrlOrPathRef,
    ) -> Result<std::path::PathBuf, node_resolver::errors::PackageFolderResolveError> {
        Err(node_resolver::errors::PackageNotFoundError {
            package_name: specifier.to_owned(),
            referrer: referrer.display(),
            referrer_extra: None,
        }
        .into())
    }

    fn resolve_types_package_folder(
        &self,
        _types_package_name: &str,
        _maybe_package_version: Option<&deno_semver::Version>,
        _maybe_referrer: Option<&node_resolver::UrlOrPathRef>,
    ) -> Option<std::path::PathBuf> {
        None
    }
}
