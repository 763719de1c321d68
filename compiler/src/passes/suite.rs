//! Tests: each `test:` section becomes a test of one package, in a fresh
//! environment of its own (the section's contents, the package under test
//! and the needs of its steps that run), its steps seeing the build's
//! variables under the section's own, without SOURCE_DATE_EPOCH.

use crate::front::diagnostics::Diagnostics;
use crate::front::recipe::{Recipe, Test as Section};
use crate::ir::{Environment, ResolvedStep, Test};
use crate::options::Options;
use crate::passes::{accounts, environment, fold};
use crate::source::SourceFile;

/// The tests to run: the top-level section for `package` (the recipe's own
/// package unless the command line names one, as `name` or
/// `name=version-rN`), then the section of every subpackage `kept` (whose
/// `if` holds), each only when it has steps that run.
pub fn plan(
    file: &SourceFile,
    recipe: &Recipe,
    options: &Options,
    resolved: Vec<(Option<String>, Vec<ResolvedStep>)>,
    kept: &[usize],
    package: Option<&str>,
    diags: &mut Diagnostics,
) -> Vec<Test> {
    let mut tests = Vec::new();
    for (subpackage, steps) in resolved {
        let (section, under_test) = match &subpackage {
            None => match &recipe.test {
                Some(t) => (t, package.unwrap_or(&recipe.package.name.value).to_owned()),
                None => continue,
            },
            Some(name) => {
                let found = kept.iter().find_map(|i| {
                    let s = &recipe.subpackages[*i];
                    (s.name.value == *name).then_some(s.test.as_ref()).flatten()
                });
                match found {
                    Some(t) => (t, name.clone()),
                    None => continue,
                }
            }
        };
        let mut needs = Vec::new();
        let steps = fold::fold_steps(steps, &mut needs, file, diags);
        if steps.is_empty() {
            continue;
        }
        let id = tests.len();
        tests.push(Test {
            id,
            ..test(
                file, recipe, options, section, under_test, &steps, needs, diags,
            )
        });
    }
    tests
}

#[allow(clippy::too_many_arguments)]
fn test(
    file: &SourceFile,
    recipe: &Recipe,
    options: &Options,
    section: &Section,
    under_test: String,
    steps: &[ResolvedStep],
    needs: Vec<String>,
    diags: &mut Diagnostics,
) -> Test {
    let env = &section.environment;
    // `name=version-rN` asks for that version; the test is of `name`.
    let constraint = under_test;
    let under_test = constraint
        .split_once('=')
        .map_or(constraint.as_str(), |(name, _)| name)
        .to_owned();
    let mut packages: Vec<String> = env.packages.iter().map(|p| p.value.clone()).collect();
    packages.push(constraint.clone());
    packages.extend(needs);
    packages.sort();
    packages.dedup();
    let mut spans: Vec<(String, crate::source::Span)> = env
        .packages
        .iter()
        .map(|p| (p.value.clone(), p.span))
        .collect();
    spans.push((constraint, section.span));

    // The build's variables (env-files and defaults included), the
    // section's over them.
    let vars = recipe
        .environment
        .environment
        .iter()
        .chain(&env.environment)
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let base = environment::base_env(None, vars);
    let mut flat = Vec::new();
    environment::flatten(steps, &base, &mut flat);

    let texts = |list: &[crate::front::recipe::Text]| -> Vec<String> {
        list.iter().map(|t| t.value.clone()).collect()
    };
    Test {
        id: 0,
        span: section.span,
        environment: Environment {
            arch: options.arch,
            purpose: format!("{under_test} test"),
            packages,
            spans,
            repositories: texts(&env.repositories),
            keyring: texts(&env.keyring),
            passwd: accounts::passwd(&env.users),
            group: accounts::group(&env.groups),
        },
        user: accounts::run_as(env, file, diags),
        package: under_test,
        steps: flat,
        pinned_environment: None,
    }
}

#[cfg(test)]
mod tests {
    use crate::options::{Arch, Options};
    use crate::{test_ir, PipelineLibrary, SourceFile};

    const RECIPE: &str = r#"package:
  name: hello
  version: 1.2
  epoch: 3
environment:
  contents:
    packages: [busybox, build-base]
  environment:
    SHARED: build
    OVERRIDDEN: build
pipeline:
  - runs: make
subpackages:
  - name: hello-doc
    pipeline:
      - runs: mkdir -p ${{targets.subpkgdir}}
    test:
      environment:
        contents:
          packages: [man-db]
      pipeline:
        - runs: test -d /usr/share/man && echo ${{context.name}}
  - name: hello-gone
    if: "'${{package.version}}' == '9'"
    test:
      pipeline:
        - runs: never
  - name: hello-untested
    test:
      pipeline:
        - if: ${{build.arch}} == 'nope'
          runs: never
test:
  environment:
    contents:
      packages: [bash]
    environment:
      OVERRIDDEN: test
    accounts:
      run-as: 65532
  pipeline:
    - name: runs
      runs: hello --version | grep ${{package.version}}
      needs:
        packages: [grep]
"#;

    fn suite(package: Option<&str>) -> crate::ir::Suite {
        let file = SourceFile::new("hello.yaml", RECIPE);
        let mut options = Options::new(Arch::X86_64);
        options.source_date_epoch = 7;
        test_ir(&file, &options, &PipelineLibrary::builtin(), package, false).unwrap()
    }

    #[test]
    fn each_section_that_runs_is_a_test_of_its_package() {
        let s = suite(None);
        let names: Vec<&str> = s.tests.iter().map(|t| t.package.as_str()).collect();
        // hello-gone's `if` is false; hello-untested has no step that runs.
        assert_eq!(names, ["hello", "hello-doc"]);
        assert_eq!(s.tests[1].id, 1);
        let main = &s.tests[0];
        assert_eq!(main.environment.packages, ["bash", "grep", "hello"]);
        assert_eq!(main.environment.purpose, "hello test");
        assert_eq!(main.user, "65532:65532");
        assert_eq!(main.steps[0].script, "hello --version | grep 1.2");
        let env: Vec<(&str, &str)> = main.steps[0]
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(env.contains(&("SHARED", "build")), "{env:?}");
        assert!(env.contains(&("OVERRIDDEN", "test")), "{env:?}");
        assert!(env.contains(&("HOME", "/home/build")), "{env:?}");
        assert!(
            !env.iter().any(|(k, _)| *k == "SOURCE_DATE_EPOCH"),
            "{env:?}"
        );

        let doc = &s.tests[1];
        assert_eq!(doc.environment.packages, ["hello-doc", "man-db"]);
        assert_eq!(doc.user, "");
        assert!(doc.steps[0].script.ends_with("echo hello-doc"));
        // As melange, a test environment has the build account too.
        assert_eq!(
            doc.environment.passwd,
            [
                "root:x:0:0:root:/root:/bin/sh",
                "build:x:1000:1000:build:/home/build:/bin/sh"
            ]
        );
    }

    #[test]
    fn the_command_line_names_the_package_of_the_top_level_test() {
        let s = suite(Some("hello=1.2-r2"));
        assert_eq!(s.tests[0].package, "hello");
        assert_eq!(
            s.tests[0].environment.packages,
            ["bash", "grep", "hello=1.2-r2"]
        );
        let (asked, _) = s.tests[0].environment.spans.last().unwrap();
        assert_eq!(asked, "hello=1.2-r2");
    }

    #[test]
    fn test_steps_are_checked_as_build_steps_are() {
        let file = SourceFile::new(
            "bad.yaml",
            "package: {name: a, version: 1}\npipeline:\n  - runs: x\ntest:\n  pipeline:\n    - uses: test/nonexistent\n",
        );
        let err = test_ir(
            &file,
            &Options::new(Arch::X86_64),
            &PipelineLibrary::builtin(),
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(err.0[0].line(), 6, "{:?}", err.0[0].message);
    }
}
