//! callplane: the call-center middle platform between business systems and FreeSWITCH.

pub mod esl;
