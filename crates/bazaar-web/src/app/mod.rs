//! What every area's pages share: the frame and the template plumbing ([`view`]) and the
//! embedded style sheet and scripts ([`assets`]).

pub mod assets;
pub mod view;
