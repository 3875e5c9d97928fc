import { startFakeAnthropic } from '/work/main/test/fakes/anthropic';
import { startFakeOllama } from '/work/main/test/fakes/ollama';
import { TempDirs } from '/work/main/test/wire/helpers/routerFixtures';
import { claudeCodeHeaders, claudeCodeMainTurn, fakeTiers, gatewayConfig, send, startHarness } from '/work/main/test/gateway/helpers/gatewayFixtures';
void (async () => {




const dirs = new TempDirs();
const anthropic = await startFakeAnthropic();
const ollama = await startFakeOllama();
const config = gatewayConfig(fakeTiers({ anthropic: anthropic.baseUrl, ollama: ollama.baseUrl }));
const h = await startHarness(dirs, config);
const body = JSON.stringify(claudeCodeMainTurn());
const res = await send(h.gateway.url, '/v1/messages?beta=true', { headers: claudeCodeHeaders({'x-claude-code-session-id': 's1'}), body });
console.log(res.status, res.headers, res.body.slice(0, 400));
console.log(anthropic.requests[0]?.path, anthropic.requests[0]?.headers);
console.log(anthropic.requests[0]?.rawBody === body);
await new Promise(r => setTimeout(r, 50));
console.log(h.logs.join('\n'));
await h.gateway.close(); await anthropic.close(); await ollama.close(); dirs.removeAll();
})();
