//! `package:` and `subpackages:`: metadata, dependencies, options,
//! scriptlets and checks.

use super::shapes::{CPE, RESOURCES, SETCAP};
use super::Reader;
use crate::front::recipe::*;
use crate::front::yaml::Node;

impl Reader<'_> {
    pub(super) fn package(&mut self, node: &Node) -> Package {
        let ty = "config.Package";
        let mut p = Package {
            span: node.span,
            ..Package::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => p.name = self.text(v),
                "version" => p.version = self.text(v),
                "epoch" => p.epoch = self.unsigned(v, "uint64").unwrap_or(0),
                "description" => p.description = self.text(v),
                "url" => p.url = self.text(v),
                "commit" => p.commit = self.text(v),
                "annotations" => p.annotations = self.text_map(v),
                "target-architecture" => p.target_architecture = self.texts(v),
                "copyright" => p.copyright = self.list(v, "[]config.Copyright", Self::copyright),
                "dependencies" => p.dependencies = self.dependencies(v),
                "options" => p.options = self.package_options(v),
                "scriptlets" => p.scriptlets = self.scriptlets(v),
                "checks" => p.checks_disabled = self.checks(v),
                "cpe" => p.cpe = self.kept(v, &CPE),
                "setcap" => p.setcap = self.kept(v, &SETCAP),
                "timeout" => p.timeout = self.duration(v),
                "resources" => p.resources = self.kept(v, &RESOURCES),
                "test-resources" => p.test_resources = self.kept(v, &RESOURCES),
                _ => self.unknown(k, ty),
            }
        }
        p
    }

    /// Go decodes a duration from a string such as `90m`; only `0` passes as
    /// a bare number.
    pub(super) fn duration(&mut self, node: &Node) -> Text {
        let t = self.text(node);
        let ok = t.value == "0"
            || (t.value.chars().any(|c| c.is_ascii_alphabetic())
                && t.value.chars().next().is_some_and(|c| c.is_ascii_digit()));
        if !ok && !t.value.is_empty() {
            self.error(
                node.span,
                format!("cannot unmarshal !!int `{}` into time.Duration", t.value),
            );
        }
        t
    }

    pub(super) fn copyright(&mut self, node: &Node) -> Copyright {
        let ty = "config.Copyright";
        let mut c = Copyright::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "license" => c.license = self.text(v),
                "paths" => c.paths = self.texts(v),
                "attestation" => c.attestation = self.text(v),
                "license-path" => c.license_path = self.text(v),
                "detection-override" => c.detection_override = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        c
    }

    pub(super) fn dependencies(&mut self, node: &Node) -> Dependencies {
        let ty = "config.Dependencies";
        let mut d = Dependencies::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "runtime" => d.runtime = self.texts(v),
                "provides" => d.provides = self.texts(v),
                "replaces" => d.replaces = self.texts(v),
                "provider-priority" => d.provider_priority = self.text(v),
                "replaces-priority" => d.replaces_priority = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        d
    }

    pub(super) fn package_options(&mut self, node: &Node) -> PackageOptions {
        let ty = "config.PackageOption";
        let mut o = PackageOptions::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "no-provides" => o.no_provides = self.boolean(v),
                "no-depends" => o.no_depends = self.boolean(v),
                "no-commands" => o.no_commands = self.boolean(v),
                "no-versioned-shlib-deps" => o.no_versioned_shlib_deps = self.boolean(v),
                _ => self.unknown(k, ty),
            }
        }
        o
    }

    pub(super) fn scriptlets(&mut self, node: &Node) -> Scriptlets {
        let ty = "config.Scriptlets";
        let mut s = Scriptlets::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "pre-install" => s.pre_install = self.text(v),
                "post-install" => s.post_install = self.text(v),
                "pre-deinstall" => s.pre_deinstall = self.text(v),
                "post-deinstall" => s.post_deinstall = self.text(v),
                "pre-upgrade" => s.pre_upgrade = self.text(v),
                "post-upgrade" => s.post_upgrade = self.text(v),
                "trigger" => {
                    for (key, k, v) in self.entries(v, "config.Trigger") {
                        match key {
                            "script" => s.trigger_script = self.text(v),
                            "paths" => s.trigger_paths = self.texts(v),
                            _ => self.unknown(k, "config.Trigger"),
                        }
                    }
                }
                _ => self.unknown(k, ty),
            }
        }
        s
    }

    pub(super) fn checks(&mut self, node: &Node) -> Vec<Text> {
        let mut disabled = Vec::new();
        for (key, k, v) in self.entries(node, "config.Checks") {
            match key {
                "disabled" => disabled = self.texts(v),
                "enabled" => {
                    self.texts(v);
                }
                _ => self.unknown(k, "config.Checks"),
            }
        }
        disabled
    }

    pub(super) fn subpackage(&mut self, node: &Node) -> Subpackage {
        let ty = "config.Subpackage";
        let mut s = Subpackage {
            span: node.span,
            ..Subpackage::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => s.name = self.text(v),
                "if" => s.if_ = self.text(v),
                "range" => s.range = self.text(v),
                "description" => s.description = self.text(v),
                "url" => s.url = self.text(v),
                "commit" => s.commit = self.text(v),
                "pipeline" => s.pipeline = self.steps(v),
                "dependencies" => s.dependencies = self.dependencies(v),
                "options" => s.options = self.package_options(v),
                "scriptlets" => s.scriptlets = self.scriptlets(v),
                "checks" => s.checks_disabled = self.checks(v),
                "annotations" => s.annotations = self.text_map(v),
                "test" => s.test = Some(self.test(k, v)),
                "setcap" => self.check(v, &SETCAP),
                _ => self.unknown(k, ty),
            }
        }
        s
    }
}
