//! Pipeline steps (`pipeline:` lists, in recipes, tests and definition
//! files), their inputs, and `test:` sections.

use super::Reader;
use crate::front::recipe::*;
use crate::front::yaml::Node;

impl Reader<'_> {
    pub(super) fn steps(&mut self, node: &Node) -> Vec<Step> {
        self.list(node, "[]config.Pipeline", Self::step)
    }

    pub(super) fn step(&mut self, node: &Node) -> Step {
        let ty = "config.Pipeline";
        let mut s = Step {
            span: node.span,
            ..Step::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "name" => s.name = self.text(v),
                "uses" => s.uses = self.text(v),
                "with" => {
                    s.with = self.text_map(v);
                    s.with_span = Some(k.span.join(v.span));
                }
                "runs" => s.runs = self.text(v),
                "if" => s.if_ = self.text(v),
                "working-directory" => s.working_directory = self.text(v),
                "pipeline" => s.pipeline = self.steps(v),
                "environment" => s.environment = self.text_map(v),
                "needs" => {
                    for (key, k, v) in self.entries(v, "config.Needs") {
                        match key {
                            "packages" => s.needs = self.texts(v),
                            _ => self.unknown(k, "config.Needs"),
                        }
                    }
                }
                "inputs" => s.inputs = self.inputs(v),
                "label" => s.label = self.text(v),
                "assertions" => {
                    for (key, k, v) in self.entries(v, "config.PipelineAssertions") {
                        match key {
                            "required-steps" => {
                                s.required_steps = self.integer(v, "int").map(|n| (n, v.span))
                            }
                            _ => self.unknown(k, "config.PipelineAssertions"),
                        }
                    }
                }
                _ => self.unknown(k, ty),
            }
        }
        s
    }

    pub(super) fn inputs(&mut self, node: &Node) -> Vec<(Text, Input)> {
        let mut inputs = Vec::new();
        for (key, k, v) in self.entries(node, "map[string]config.Input") {
            let mut input = Input::default();
            for (field, fk, fv) in self.entries(v, "config.Input") {
                match field {
                    "description" => input.description = self.text(fv),
                    "default" => input.default = Some(self.text(fv)),
                    "required" => input.required = self.boolean(fv),
                    _ => self.unknown(fk, "config.Input"),
                }
            }
            inputs.push((Text::new(key, k.span), input));
        }
        inputs
    }

    pub(super) fn test(&mut self, key: &Node, node: &Node) -> Test {
        let ty = "config.Test";
        let mut t = Test {
            span: key.span,
            ..Test::default()
        };
        for (key, k, v) in self.entries(node, ty) {
            match key {
                "environment" => t.environment = self.environment(v),
                "pipeline" => t.pipeline = self.steps(v),
                _ => self.unknown(k, ty),
            }
        }
        t
    }

    pub(super) fn pipeline_def(&mut self, root: &Node) -> PipelineDef {
        let mut def = PipelineDef::default();
        for (key, _, v) in self.entries(root, "config.Pipeline") {
            match key {
                "name" => def.name = self.text(v),
                "description" => def.description = self.text(v),
                "needs" => {
                    for (key, _, v) in self.entries(v, "config.Needs") {
                        if key == "packages" {
                            def.needs = self.texts(v);
                        }
                    }
                }
                "inputs" => def.inputs = self.inputs(v),
                "pipeline" => def.pipeline = self.steps(v),
                _ => {}
            }
        }
        def
    }
}
