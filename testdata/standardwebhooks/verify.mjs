// verify.mjs: verifies signed webhook requests with a real Standard
// Webhooks implementation from npm, for verify/standardwebhooks_test.go.
//
// Usage: node verify.mjs [standardwebhooks|svix] < requests.jsonl
//
// Each input line is a JSON object {"secret": "whsec_...", "headers":
// {"webhook-id": ..., ...}, "body": "..."}; for each, one output line:
// "ok" when the library's Webhook.verify accepts the request, else
// "fail: " and the library's reason.
import { createInterface } from 'node:readline';
import * as standardwebhooks from 'standardwebhooks';
import * as svix from 'svix';

const libs = { standardwebhooks, svix };
const name = process.argv[2] ?? 'standardwebhooks';
const lib = libs[name];
if (!lib) {
	console.error(`verify.mjs: unknown library ${name}; want one of ${Object.keys(libs).join(', ')}`);
	process.exit(2);
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
	if (line.trim() === '') continue;
	const { secret, headers, body } = JSON.parse(line);
	try {
		new lib.Webhook(secret).verify(body, headers);
		console.log('ok');
	} catch (err) {
		console.log(`fail: ${String(err.message ?? err).replace(/\s+/g, ' ')}`);
	}
}
