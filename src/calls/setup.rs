//! What a call's originate (or dialplan answer) is built from: the recording file and upload
//! URL with its token, and the configured tones, timeouts and failover rule.

use uuid::Uuid;

use super::Calls;
use super::lines::Party;
use crate::originate::{self, ClickToCall, Target};

impl Calls {
    pub(super) fn originate_command(
        &self,
        call_uuid: Uuid,
        caller_t: &Target,
        callee_t: &Target,
        caller: &Party,
        callee: &Party,
    ) -> Result<String, originate::Unsafe> {
        let (file, url) = self.recording_setup(call_uuid);
        originate::click_to_call(&self.setup(
            call_uuid,
            caller_t,
            callee_t,
            callee.number().trim_start_matches('+'),
            caller.number().trim_start_matches('+'),
            &file,
            &url,
        ))
    }

    /// Where the switch records this call and where it uploads the file (with its token).
    pub(super) fn recording_setup(&self, call_uuid: Uuid) -> (String, String) {
        let rec = &self.config.recording;
        let today = chrono::Utc::now().format("%Y/%m/%d");
        let file = format!(
            "{}/{today}/{call_uuid}.{}",
            rec.dir.trim_end_matches('/'),
            rec.format
        );
        let token = crate::tokens::upload_token(self.secret.expose(), &call_uuid);
        let url = format!(
            "{}/fsapi/upload_audio?uuid={call_uuid}&token={token}",
            self.config.public_url()
        );
        (file, url)
    }

    /// The builder's input from configuration and the call's parts.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn setup<'a>(
        &'a self,
        call_uuid: Uuid,
        caller_t: &'a Target,
        callee_t: &'a Target,
        caller_display_number: &'a str,
        fallback_caller_id: &'a str,
        file: &'a str,
        url: &'a str,
    ) -> ClickToCall<'a> {
        let c = &self.config.calls;
        ClickToCall {
            call_uuid,
            caller: caller_t,
            callee: callee_t,
            caller_display_number,
            fallback_caller_id,
            recording_file: file,
            upload_url: url,
            upload: self.config.recording.upload,
            originate_timeout_secs: c.originate_timeout_secs,
            callee_ring_timeout_secs: c.callee_ring_timeout_secs,
            stop_failover_on: &c.stop_failover_on,
            closing_playback: &c.closing_playback,
            ringback: &c.ringback,
        }
    }
}
