//! `environment:`, apko's image configuration: contents, accounts and
//! variables, for the build and for each test.

use super::Reader;
use crate::front::recipe::*;
use crate::front::yaml::Node;

impl Reader<'_> {
    pub(super) fn environment(&mut self, node: &Node) -> Environment {
        let ty = "types.ImageConfiguration";
        let mut e = Environment {
            span: node.span,
            ..Environment::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "contents" => {
                    let ty = "types.ImageContents";
                    for (key, k, v) in self.entries(v, ty) {
                        match key {
                            "repositories" => e.repositories = self.texts(v),
                            "build_repositories" => e.build_repositories = self.texts(v),
                            "keyring" => e.keyring = self.texts(v),
                            "packages" => e.packages = self.texts(v),
                            "runtime_repositories" | "runtime_keyring" => {
                                self.texts(v);
                            }
                            "baseimage" => {}
                            _ => self.unknown(k, ty),
                        }
                    }
                }
                "accounts" => {
                    let ty = "types.ImageAccounts";
                    for (key, k, v) in self.entries(v, ty) {
                        match key {
                            "users" => e.users = self.list(v, "[]types.User", Self::user),
                            "groups" => e.groups = self.list(v, "[]types.Group", Self::group),
                            "run-as" => e.run_as = self.text(v),
                            _ => self.unknown(k, ty),
                        }
                    }
                }
                "environment" => e.environment = self.text_map(v),
                "cmd" | "stop-signal" | "work-dir" | "vcs-url" | "include" => {
                    self.text(v);
                }
                "archs" | "volumes" => {
                    self.texts(v);
                }
                "annotations" => {
                    self.text_map(v);
                }
                "entrypoint" | "paths" | "layering" | "certificates" => {}
                _ => self.unknown(k, ty),
            }
        }
        e
    }

    pub(super) fn user(&mut self, node: &Node) -> User {
        let ty = "types.User";
        let mut u = User::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "username" => u.username = self.text(v),
                "uid" => u.uid = self.id(v),
                "gid" => u.gid = self.id(v),
                "shell" => u.shell = self.text(v),
                "homedir" => u.homedir = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        u
    }

    pub(super) fn group(&mut self, node: &Node) -> Group {
        let ty = "types.Group";
        let mut g = Group::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "groupname" => g.groupname = self.text(v),
                "gid" => g.gid = self.id(v),
                "members" => g.members = self.texts(v),
                _ => self.unknown(k, ty),
            }
        }
        g
    }
}
