// Drives bmx serve with the official `openai` npm package (run by openai_test.cpp): prints one JSON object with
// what the client library made of each response, for the test to check against curl's view of the same requests.
// Usage: node openai_client.mjs BASE_URL API_KEY MODEL
import OpenAI from 'openai';

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const messages = [{ role: 'user', content: 'Hello there' }];
const out = {};

const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
out.chat = { content: chat.choices[0].message.content, finish: chat.choices[0].finish_reason, usage: chat.usage };

const stream = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0, stream: true });
let streamed = '';
for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
out.chat_stream = streamed;

const comp = await client.completions.create({ model, prompt: 'The protein', max_tokens: 5, temperature: 0 });
out.completion = comp.choices[0].text;

const many = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 1, seed: 5, n: 2 });
out.n = many.choices.length;

const fold = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'ignored: the task writes the prompt' }], max_tokens: 40,
  bmx: { task: 'fold', inputs: { sequence: 'MKTAYIAK' } },
});
out.fold = fold.choices[0].bmx;

try {
  await client.chat.completions.create({ model, messages, temperature: -1 });
  out.error = null;
} catch (e) {
  out.error = { status: e.status, type: e.error?.type, message: e.message };
}
console.log(JSON.stringify(out));
