//! What parse-time works from: `data:` sets for ranged subpackages,
//! `var-transforms:` and build `options:`.

use super::Reader;
use crate::front::recipe::*;
use crate::front::yaml::Node;

impl Reader<'_> {
    pub(super) fn data_set(&mut self, node: &Node) -> DataSet {
        let ty = "config.RangeData";
        let mut d = DataSet::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => d.name = self.text(v),
                "items" => d.items = self.text_map(v),
                _ => self.unknown(k, ty),
            }
        }
        d
    }

    pub(super) fn var_transform(&mut self, node: &Node) -> VarTransform {
        let ty = "config.VarTransforms";
        let mut t = VarTransform::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "from" => t.from = self.text(v),
                "match" => t.match_ = self.text(v),
                "replace" => t.replace = self.text(v),
                "to" => t.to = self.text(v),
                _ => self.unknown(k, ty),
            }
        }
        t
    }

    pub(super) fn build_option(&mut self, node: &Node) -> BuildOption {
        let ty = "config.BuildOption";
        let mut o = BuildOption::default();
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "vars" => o.vars = self.text_map(v),
                "environment" => {
                    for (key, k, v) in self.entries(v, "config.EnvironmentOption") {
                        if key != "contents" {
                            self.unknown(k, "config.EnvironmentOption");
                            continue;
                        }
                        for (key, k, v) in self.entries(v, "config.ContentsOption") {
                            if key != "packages" {
                                self.unknown(k, "config.ContentsOption");
                                continue;
                            }
                            for (key, k, v) in self.entries(v, "config.ListOption") {
                                match key {
                                    "add" => o.add = self.texts(v),
                                    "remove" => o.remove = self.texts(v),
                                    _ => self.unknown(k, "config.ListOption"),
                                }
                            }
                        }
                    }
                }
                _ => self.unknown(k, ty),
            }
        }
        o
    }
}
