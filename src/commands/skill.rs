//! `skill`: print the coding-agent skill ([`crate::skill`]), made from this binary.

use crate::exit_code;

pub fn run() -> u8 {
    crate::render::page(&crate::skill::document());
    exit_code::OK
}
