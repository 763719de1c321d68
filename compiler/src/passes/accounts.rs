//! Accounts: who steps run as (`environment.accounts.run-as`), and the
//! environment's `/etc/passwd` and `/etc/group` as apko writes them. A
//! user's uid and a group's gid default to 0, as Go decodes an absent
//! number; a user's gid defaults to its uid, its home to `/home/<name>` and
//! its shell to `/bin/sh`. root comes first unless the recipe defines it.

use crate::front::diagnostics::{Code, Diagnostic, Diagnostics};
use crate::front::recipe::{Environment, Group, User};
use crate::source::SourceFile;

const ROOT_USER: &str = "root:x:0:0:root:/root:/bin/sh";
const ROOT_GROUP: &str = "root:x:0:";

fn uid(u: &User) -> u32 {
    u.uid.unwrap_or(0)
}

fn gid(u: &User) -> u32 {
    u.gid.unwrap_or(uid(u))
}

/// `accounts.run-as` as a BuildKit user, `uid:gid`, or empty for root: a
/// number is that uid, a name the uid of that user in `accounts.users`, the
/// same uid the user has in `/etc/passwd`.
pub fn run_as(env: &Environment, file: &SourceFile, diags: &mut Diagnostics) -> String {
    let who = env.run_as.value.as_str();
    match who {
        "" | "root" | "0" => String::new(),
        n if n.bytes().all(|b| b.is_ascii_digit()) => format!("{n}:{n}"),
        name => match env.users.iter().find(|u| u.username.value == name) {
            Some(u) => format!("{}:{}", uid(u), gid(u)),
            None => {
                diags.push(Diagnostic::new(
                    Code::Accounts,
                    file,
                    env.run_as.span,
                    format!("run-as user {name:?} is not in environment.accounts.users"),
                ));
                String::new()
            }
        },
    }
}

/// `/etc/passwd`, line by line.
pub fn passwd(users: &[User]) -> Vec<String> {
    let mut lines = Vec::new();
    if !users.iter().any(|u| u.username.value == "root") {
        lines.push(ROOT_USER.to_owned());
    }
    lines.extend(users.iter().map(|u| {
        let name = &u.username.value;
        let home = match u.homedir.value.as_str() {
            "" => format!("/home/{name}"),
            h => h.to_owned(),
        };
        let shell = match u.shell.value.as_str() {
            "" => "/bin/sh",
            s => s,
        };
        format!("{name}:x:{}:{}:{name}:{home}:{shell}", uid(u), gid(u))
    }));
    lines
}

/// `/etc/group`, line by line.
pub fn group(groups: &[Group]) -> Vec<String> {
    let mut lines = Vec::new();
    if !groups.iter().any(|g| g.groupname.value == "root") {
        lines.push(ROOT_GROUP.to_owned());
    }
    lines.extend(groups.iter().map(|g| {
        let members: Vec<&str> = g.members.iter().map(|m| m.value.as_str()).collect();
        format!(
            "{}:x:{}:{}",
            g.groupname.value,
            g.gid.unwrap_or(0),
            members.join(",")
        )
    }));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::recipe::Text;

    fn text(s: &str) -> Text {
        Text {
            value: s.to_owned(),
            ..Default::default()
        }
    }

    fn user(name: &str, uid: Option<u32>, gid: Option<u32>) -> User {
        User {
            username: text(name),
            uid,
            gid,
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_apko() {
        let users = [
            user("www-data", Some(10000), None),
            User {
                shell: text("/bin/false"),
                homedir: text("/var/empty"),
                ..user("svc", Some(20), Some(30))
            },
            user("plain", None, None),
        ];
        assert_eq!(
            passwd(&users),
            [
                "root:x:0:0:root:/root:/bin/sh",
                "www-data:x:10000:10000:www-data:/home/www-data:/bin/sh",
                "svc:x:20:30:svc:/var/empty:/bin/false",
                "plain:x:0:0:plain:/home/plain:/bin/sh",
            ]
        );
        let groups = [
            Group {
                groupname: text("www-data"),
                gid: Some(10000),
                members: vec![text("www-data"), text("svc")],
            },
            Group {
                groupname: text("none"),
                ..Default::default()
            },
        ];
        assert_eq!(
            group(&groups),
            ["root:x:0:", "www-data:x:10000:www-data,svc", "none:x:0:"]
        );
        // A recipe's own root replaces the default.
        let own = [user("root", Some(0), Some(0))];
        assert_eq!(passwd(&own), ["root:x:0:0:root:/home/root:/bin/sh"]);
    }

    #[test]
    fn run_as_takes_the_uid_passwd_gives() {
        let file = SourceFile::new("r.yaml", "");
        let env = |who: &str| Environment {
            run_as: text(who),
            users: vec![
                user("build", Some(1000), Some(1000)),
                user("svc", Some(20), None),
                user("nouid", None, None),
            ],
            ..Default::default()
        };
        let mut diags = Diagnostics::default();
        assert_eq!(run_as(&env("build"), &file, &mut diags), "1000:1000");
        assert_eq!(run_as(&env("svc"), &file, &mut diags), "20:20");
        assert_eq!(run_as(&env("65532"), &file, &mut diags), "65532:65532");
        assert_eq!(run_as(&env("root"), &file, &mut diags), "");
        // No uid: 0, in /etc/passwd too.
        assert_eq!(run_as(&env("nouid"), &file, &mut diags), "0:0");
        assert!(
            passwd(&env("").users).contains(&"nouid:x:0:0:nouid:/home/nouid:/bin/sh".to_owned())
        );
        assert!(diags.is_empty());
        run_as(&env("nobody"), &file, &mut diags);
        assert_eq!(diags.0[0].code, Code::Accounts);
    }
}
