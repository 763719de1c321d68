//! Go's `os.FileMode` bits, which the wire uses, from and to Unix modes.

pub const DIR: u32 = 0x8000_0000;
pub const SYMLINK: u32 = 0x0800_0000;
pub const DEVICE: u32 = 0x0400_0000;
pub const NAMED_PIPE: u32 = 0x0200_0000;
pub const SOCKET: u32 = 0x0100_0000;
pub const SETUID: u32 = 0x0080_0000;
pub const SETGID: u32 = 0x0040_0000;
pub const CHAR_DEVICE: u32 = 0x0020_0000;
pub const STICKY: u32 = 0x0010_0000;
pub const IRREGULAR: u32 = 0x0008_0000;

const S_IFMT: u32 = 0o170000;

/// A Unix `st_mode` as Go's FileMode. Sockets travel as regular files, as
/// Go's sender sends them.
pub fn to_go(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    match st_mode & S_IFMT {
        0o040000 => m |= DIR,
        0o120000 => m |= SYMLINK,
        0o060000 => m |= DEVICE,
        0o020000 => m |= DEVICE | CHAR_DEVICE,
        0o010000 => m |= NAMED_PIPE,
        _ => {}
    }
    if st_mode & 0o4000 != 0 {
        m |= SETUID;
    }
    if st_mode & 0o2000 != 0 {
        m |= SETGID;
    }
    if st_mode & 0o1000 != 0 {
        m |= STICKY;
    }
    m
}

/// Permission bits with set-id and sticky, as `chmod` takes them.
pub fn unix_perm(go: u32) -> u32 {
    let mut m = go & 0o777;
    if go & SETUID != 0 {
        m |= 0o4000;
    }
    if go & SETGID != 0 {
        m |= 0o2000;
    }
    if go & STICKY != 0 {
        m |= 0o1000;
    }
    m
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Kind {
    Dir,
    Symlink,
    Regular,
    NamedPipe,
    CharDevice,
    BlockDevice,
    Other,
}

pub fn kind(go: u32) -> Kind {
    if go & DIR != 0 {
        Kind::Dir
    } else if go & SYMLINK != 0 {
        Kind::Symlink
    } else if go & DEVICE != 0 {
        if go & CHAR_DEVICE != 0 {
            Kind::CharDevice
        } else {
            Kind::BlockDevice
        }
    } else if go & NAMED_PIPE != 0 {
        Kind::NamedPipe
    } else if go & (SOCKET | IRREGULAR) != 0 {
        Kind::Other
    } else {
        Kind::Regular
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes_as_documented() {
        assert_eq!(to_go(0o100644), 0x1A4);
        assert_eq!(to_go(0o040755), 0x8000_01ED);
        assert_eq!(to_go(0o120777), 0x0800_01FF);
        assert_eq!(to_go(0o104755), SETUID | 0o755);
        assert_eq!(unix_perm(SETUID | SETGID | STICKY | 0o755), 0o7755);
        assert_eq!(kind(to_go(0o020644)), Kind::CharDevice);
        assert_eq!(kind(to_go(0o060644)), Kind::BlockDevice);
        assert_eq!(kind(to_go(0o010644)), Kind::NamedPipe);
        assert_eq!(kind(0o644), Kind::Regular);
    }
}
