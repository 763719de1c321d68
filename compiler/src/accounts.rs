//! `environment.accounts` as the lines apko writes into `/etc/passwd` and
//! `/etc/group`: a user's uid defaults to 1000, its gid to its uid, its home
//! to `/home/<name>` and its shell to `/bin/sh`; a group's gid to 1000.

use crate::recipe::{Group, User};

pub fn passwd(users: &[User]) -> Vec<String> {
    users
        .iter()
        .map(|u| {
            let name = &u.username.value;
            let uid = u.uid.unwrap_or(1000);
            let home = match u.homedir.value.as_str() {
                "" => format!("/home/{name}"),
                h => h.to_owned(),
            };
            let shell = match u.shell.value.as_str() {
                "" => "/bin/sh",
                s => s,
            };
            format!(
                "{name}:x:{uid}:{}:{name}:{home}:{shell}",
                u.gid.unwrap_or(uid)
            )
        })
        .collect()
}

pub fn group(groups: &[Group]) -> Vec<String> {
    groups
        .iter()
        .map(|g| {
            let members: Vec<&str> = g.members.iter().map(|m| m.value.as_str()).collect();
            format!(
                "{}:x:{}:{}",
                g.groupname.value,
                g.gid.unwrap_or(1000),
                members.join(",")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::Text;

    fn text(s: &str) -> Text {
        Text {
            value: s.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_follow_apko() {
        let users = [
            User {
                username: text("www-data"),
                uid: Some(10000),
                ..Default::default()
            },
            User {
                username: text("svc"),
                uid: Some(20),
                gid: Some(30),
                shell: text("/bin/false"),
                homedir: text("/var/empty"),
            },
            User {
                username: text("plain"),
                ..Default::default()
            },
        ];
        assert_eq!(
            passwd(&users),
            [
                "www-data:x:10000:10000:www-data:/home/www-data:/bin/sh",
                "svc:x:20:30:svc:/var/empty:/bin/false",
                "plain:x:1000:1000:plain:/home/plain:/bin/sh",
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
            ["www-data:x:10000:www-data,svc", "none:x:1000:"]
        );
    }
}
