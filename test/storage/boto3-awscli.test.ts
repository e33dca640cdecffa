import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../helpers/app.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { makeTempDir } from '../helpers/temp.ts';
import { requireAwsCli, requirePythonWithBoto3, runTool } from './cli-tools.ts';
import { KEYS, startStorageApp } from './storage-app.ts';

// The seed's boto3 snippet, unchanged but for the endpoint and the key's value.
const seedSnippet = (endpoint: string) => `import boto3
from botocore.config import Config
s3 = boto3.client(
"s3",
endpoint_url="${endpoint}/storage",
aws_access_key_id="uploads", # bucket name (public_key)
aws_secret_access_key=HYBRIDS3_UPLOADS_KEY,
region_name="us-east-1",
config=Config(signature_version="s3v4"),
)
s3.upload_file("image.png", "uploads", "image.png")
s3.download_file("uploads", "image.png", "local.png")
s3.list_objects_v2(Bucket="uploads", Prefix="images/")
s3.delete_object(Bucket="uploads", Key="image.png")
# generate presigned URL via boto3
url = s3.generate_presigned_url(
"get_object",
Params={"Bucket": "uploads", "Key": "image.png"},
ExpiresIn=3600,
)`;

describe('storage with boto3 and awscli', () => {
  let app: TestApp;
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    app = await startStorageApp();
    temp = await makeTempDir('agentgate-s3cli-');
  });
  after(async () => {
    await app.close();
    await temp.cleanup();
  });

  it('runs the seed boto3 snippet (upload_file of 9 MB goes multipart)', {
    skip: skipWithout('boto3'),
  }, async () => {
    const python = await requirePythonWithBoto3();
    // A PNG signature followed by 9 MB: over boto3's 8 MB multipart threshold.
    const image = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(9 * 1024 * 1024)]);
    await writeFile(join(temp.dir, 'image.png'), image);
    const script = [
      `HYBRIDS3_UPLOADS_KEY = ${JSON.stringify(KEYS.uploads)}`,
      seedSnippet(app.url),
      // After the snippet: report what it produced, for the assertions below.
      'print(url)',
      'print(len(s3.list_objects_v2(Bucket="uploads", Prefix="images/").get("Contents", [])))',
    ].join('\n');
    await writeFile(join(temp.dir, 'snippet.py'), script);
    const { stdout } = await runTool(python, ['snippet.py'], { cwd: temp.dir });
    const [url, count] = stdout.trim().split('\n');
    assert.ok(
      (await readFile(join(temp.dir, 'local.png'))).equals(image),
      'downloaded file equals the upload',
    );
    assert.equal(count, '0');
    assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/storage\/uploads\/image\.png\?/);
    // The snippet deleted the object: its presigned URL now finds nothing, but is accepted.
    const res = await fetch(url ?? '');
    assert.equal(res.status, 404);
  });

  it('boto3 presigned URL and a key with odd characters round-trip', {
    skip: skipWithout('boto3'),
  }, async () => {
    const python = await requirePythonWithBoto3();
    const script = `import boto3, sys
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=${JSON.stringify(`${app.url}/storage`)}, aws_access_key_id="private",
  aws_secret_access_key=${JSON.stringify(KEYS.private)}, region_name="us-east-1", config=Config(signature_version="s3v4"))
key = "odd dir/ü & + = ?.txt"
s3.put_object(Bucket="private", Key=key, Body=b"odd")
assert s3.get_object(Bucket="private", Key=key)["Body"].read() == b"odd"
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="private", Prefix="odd dir/")["Contents"]]
assert keys == [key], keys
print(s3.generate_presigned_url("get_object", Params={"Bucket": "private", "Key": key}, ExpiresIn=60))
`;
    await writeFile(join(temp.dir, 'odd.py'), script);
    const { stdout } = await runTool(python, ['odd.py'], { cwd: temp.dir });
    const res = await fetch(stdout.trim());
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'odd');
  });

  it('awscli s3 cp, ls, presign and rm', { skip: skipWithout('awscli') }, async () => {
    const aws = await requireAwsCli();
    const env = {
      AWS_ACCESS_KEY_ID: 'uploads',
      AWS_SECRET_ACCESS_KEY: KEYS.uploads,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(temp.dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(temp.dir, 'no-credentials'),
    };
    const endpoint = ['--endpoint-url', `${app.url}/storage`];
    await writeFile(join(temp.dir, 'cli.txt'), 'from awscli\n');
    await runTool(aws, [...endpoint, 's3', 'cp', join(temp.dir, 'cli.txt'), 's3://uploads/cli/cli.txt'], {
      env,
    });
    const ls = await runTool(aws, [...endpoint, 's3', 'ls', 's3://uploads/cli/'], { env });
    assert.match(ls.stdout, /\s12 cli\.txt/);
    const presign = await runTool(
      aws,
      [...endpoint, 's3', 'presign', 's3://uploads/cli/cli.txt', '--expires-in', '300'],
      { env },
    );
    const res = await fetch(presign.stdout.trim());
    assert.equal(await res.text(), 'from awscli\n');
    await runTool(aws, [...endpoint, 's3', 'cp', 's3://uploads/cli/cli.txt', join(temp.dir, 'back.txt')], {
      env,
    });
    assert.equal(await readFile(join(temp.dir, 'back.txt'), 'utf8'), 'from awscli\n');
    await runTool(aws, [...endpoint, 's3', 'rm', 's3://uploads/cli/cli.txt'], { env });
    const after = await runTool(aws, [...endpoint, 's3', 'ls', 's3://uploads/cli/'], { env }).catch(
      (e: Error) => e,
    );
    // `aws s3 ls` of an empty prefix prints nothing (exit code 1 on some versions).
    assert.ok(after instanceof Error ? /failed/.test(after.message) : after.stdout.trim() === '');
  });
});
