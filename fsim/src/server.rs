//! mod_event_socket's inbound listener: accepts ESL clients, asks for `auth`, runs commands
//! (`api`, `bgapi`, `event`, `nixevent`, `noevents`, `filter`, `sendevent`, `sendmsg`, `log`,
//! `exit`) and streams subscribed events. One task per connection owns the socket; a reader
//! task feeds it parsed command frames, so replies and events never interleave mid-frame.

use crate::event::Event;
use crate::state::Shared;
use crate::subs::Subscriptions;
use crate::wire::{self, Command};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch};

/// Accepts connections until `stop` turns true.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(stream, shared.clone()));
                }
                Err(e) => eprintln!("fsim: accept failed: {e}"),
            },
            _ = stop.changed() => {
                if *stop.borrow() {
                    return;
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Plain,
    Json,
    Xml,
}

impl Format {
    fn word(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Json => "json",
            Format::Xml => "xml",
        }
    }
}

struct Conn {
    shared: Arc<Shared>,
    authed: bool,
    format: Format,
    events_on: bool,
    subs: Subscriptions,
}

/// What the connection loop does after a command.
enum Next {
    Continue,
    Close,
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let (rd, mut wr) = stream.into_split();
    let mut epoch = shared.epoch.subscribe();
    epoch.mark_unchanged();
    let (tx, mut rx) = mpsc::channel::<Command>(64);
    let reader = tokio::spawn(async move {
        let mut rd = BufReader::new(rd);
        while let Ok(Some(cmd)) = wire::read_command(&mut rd).await {
            if tx.send(cmd).await.is_err() {
                break;
            }
        }
    });
    if wr.write_all(wire::auth_request().as_bytes()).await.is_err() {
        reader.abort();
        return;
    }
    let mut conn = Conn {
        shared: shared.clone(),
        authed: false,
        format: Format::Plain,
        events_on: false,
        subs: Subscriptions::default(),
    };
    let mut events = shared.bus.subscribe();
    loop {
        tokio::select! {
            // A restart or stop drops the socket without a goodbye, like a crashed switch.
            _ = epoch.changed() => break,
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                if !conn.events_on {
                    // Start from now, not from whatever queued while events were off.
                    events = events.resubscribe();
                }
                match conn.handle(cmd, &mut wr).await {
                    Ok(Next::Continue) => {}
                    Ok(Next::Close) => {
                        let _ = wr.write_all(wire::disconnect_notice().as_bytes()).await;
                        break;
                    }
                    Err(_) => break,
                }
            }
            ev = events.recv(), if conn.events_on => match ev {
                Ok(ev) => {
                    if conn.subs.wants(&ev) && wr.write_all(conn.render(&ev).as_bytes()).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => eprintln!("fsim: listener lost {n} events"),
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    let _ = wr.shutdown().await;
    reader.abort();
}

impl Conn {
    fn render(&self, ev: &Event) -> String {
        let body = match self.format {
            Format::Plain => ev.to_plain(),
            Format::Json => ev.to_json(),
            Format::Xml => ev.to_xml(),
        };
        wire::event_frame(self.format.word(), &body)
    }

    async fn handle(&mut self, cmd: Command, wr: &mut OwnedWriteHalf) -> std::io::Result<Next> {
        self.shared.record_command(&cmd.line);
        let line = cmd.line.trim().to_string();
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let verb = verb.to_ascii_lowercase();
        let reply = |text: &str| wire::command_reply(text);
        if verb == "exit" || line.starts_with("...") {
            wr.write_all(reply("+OK bye").as_bytes()).await?;
            return Ok(Next::Close);
        }
        if !self.authed {
            if verb == "auth" {
                // mod_event_socket compares the whole rest of the line, spaces included.
                if line[5.min(line.len())..] == self.shared.world().cfg.password {
                    self.authed = true;
                    wr.write_all(reply("+OK accepted").as_bytes()).await?;
                    return Ok(Next::Continue);
                }
                wr.write_all(reply("-ERR invalid").as_bytes()).await?;
                return Ok(Next::Close);
            }
            wr.write_all(reply("-ERR command not found").as_bytes())
                .await?;
            return Ok(Next::Continue);
        }
        let out = match verb.as_str() {
            "api" => {
                let (c, a) = split_cmd(rest);
                let body = crate::api::execute(&self.shared, &c, a.as_deref()).await;
                wr.write_all(wire::api_response(&body).as_bytes()).await?;
                return Ok(Next::Continue);
            }
            "bgapi" => {
                let job = cmd
                    .header("Job-UUID")
                    .map(str::to_string)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                wr.write_all(wire::bgapi_reply(&job).as_bytes()).await?;
                let (c, a) = split_cmd(rest);
                tokio::spawn(background_job(self.shared.clone(), job, c, a));
                return Ok(Next::Continue);
            }
            "event" => self.event(rest),
            "nixevent" => {
                let tokens: Vec<&str> = rest.split_whitespace().collect();
                if self.subs.remove(&tokens) == 0 {
                    "-ERR no keywords supplied".to_string()
                } else {
                    self.events_on = true;
                    "+OK events nixed".to_string()
                }
            }
            "noevents" => {
                if self.events_on {
                    self.events_on = false;
                    self.subs.clear();
                    "+OK no longer listening for events".to_string()
                } else {
                    "-ERR not listening for events".to_string()
                }
            }
            "filter" => self.filter(rest),
            "log" => format!(
                "+OK log level {} [7]",
                if rest.is_empty() { "debug" } else { rest }
            ),
            "nolog" => "+OK no longer logging".to_string(),
            "sendevent" => self.sendevent(rest, &cmd),
            "sendmsg" => self.sendmsg(rest, &cmd),
            "linger" | "nolinger" | "divert_events" | "resume" => {
                "-ERR not controlling a session".to_string()
            }
            _ => "-ERR command not found".to_string(),
        };
        wr.write_all(reply(&out).as_bytes()).await?;
        Ok(Next::Continue)
    }

    fn event(&mut self, rest: &str) -> String {
        let mut tokens: Vec<&str> = rest.split_whitespace().collect();
        if let Some(first) = tokens.first() {
            let f = match first.to_ascii_lowercase().as_str() {
                "plain" => Some(Format::Plain),
                "json" => Some(Format::Json),
                "xml" => Some(Format::Xml),
                _ => None,
            };
            if let Some(f) = f {
                self.format = f;
                tokens.remove(0);
            }
        }
        if self.subs.add(&tokens) == 0 {
            return "-ERR no keywords supplied".into();
        }
        self.events_on = true;
        format!("+OK event listener enabled {}", self.format.word())
    }

    fn filter(&mut self, rest: &str) -> String {
        let rest = rest.trim_start();
        let (name, val) = match rest.split_once(' ') {
            Some((n, v)) => (n, Some(v)),
            None => (rest, None),
        };
        if name.eq_ignore_ascii_case("delete") {
            let Some(val) = val else {
                return "-ERR invalid syntax".into();
            };
            let (h, v) = match val.split_once(' ') {
                Some((h, v)) => (h, Some(v)),
                None => (val, None),
            };
            self.subs.delete_filter(h, v);
            return format!("+OK filter deleted. [{h}][{}]", v.unwrap_or("(null)"));
        }
        let (name, val) = if name.eq_ignore_ascii_case("add") {
            match val.and_then(|v| v.split_once(' ')) {
                Some((n, v)) => (n, Some(v)),
                None => (val.unwrap_or(""), None),
            }
        } else {
            (name, val)
        };
        match val {
            Some(v) => {
                self.subs.add_filter(name, v);
                format!("+OK filter added. [{name}]=[{v}]")
            }
            None => "-ERR invalid syntax".into(),
        }
    }

    fn sendevent(&self, rest: &str, cmd: &Command) -> String {
        let name = rest.trim();
        let name = if name.is_empty() { "CUSTOM" } else { name };
        let mut ev = self
            .shared
            .new_event(name, "mod_event_socket.c", "parse_command", 1955);
        let id = uuid::Uuid::new_v4().to_string();
        ev.headers.insert(0, ("Event-UUID".into(), id.clone()));
        for (k, v) in &cmd.headers {
            if !k.eq_ignore_ascii_case("content-length") {
                ev.push(k.clone(), v.clone());
            }
        }
        ev.body = cmd.body.clone();
        self.shared.fire(ev);
        format!("+OK {id}")
    }

    fn sendmsg(&self, rest: &str, cmd: &Command) -> String {
        let uuid = rest.trim();
        let uuid = if uuid.is_empty() {
            cmd.header("session-id").unwrap_or("")
        } else {
            uuid
        };
        if !self.shared.channels().iter().any(|c| c.leg.uuid == uuid) {
            return format!("-ERR invalid session id [{uuid}]");
        }
        if cmd
            .header("call-command")
            .is_some_and(|c| c.eq_ignore_ascii_case("hangup"))
        {
            let cause = cmd.header("hangup-cause").unwrap_or("NORMAL_CLEARING");
            self.shared.kill_channel(uuid, cause);
        }
        "+OK".into()
    }
}

/// Splits `sofia status` into the command name and its argument.
fn split_cmd(s: &str) -> (String, Option<String>) {
    let s = s.trim();
    match s.split_once(' ') {
        Some((c, a)) => (c.to_string(), Some(a.to_string())),
        None => (s.to_string(), None),
    }
}

/// Runs a bgapi command and fires its BACKGROUND_JOB with the result as body (an originate
/// fires it from the call, before the answered leg goes on).
async fn background_job(shared: Arc<Shared>, job: String, cmd: String, arg: Option<String>) {
    let fire = {
        let shared = shared.clone();
        let (cmd, arg) = (cmd.clone(), arg.clone());
        move |result: String| {
            let mut ev = shared.new_event("BACKGROUND_JOB", "mod_event_socket.c", "api_exec", 1572);
            ev.push("Job-UUID", job);
            ev.push("Job-Command", cmd);
            if let Some(a) = arg {
                ev.push("Job-Command-Arg", a);
            }
            ev.body = Some(if result.is_empty() {
                "Command returned no output!".to_string()
            } else {
                result
            });
            shared.fire(ev);
        }
    };
    if cmd == "originate"
        && let Ok(o) = crate::call::dial::parse_originate(arg.as_deref().unwrap_or("").trim())
    {
        crate::call::run::originate_reporting(shared, o, Some(Box::new(fire))).await;
        return;
    }
    let result = crate::api::execute(&shared, &cmd, arg.as_deref()).await;
    fire(result);
}
