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

  it('boto3: the s3-tests resend-part sequence with unread GETs, metadata, conditions, self-copy', {
    skip: skipWithout('boto3'),
  }, async () => {
    const python = await requirePythonWithBoto3();
    const script = `import boto3, os
from botocore.config import Config
from botocore.exceptions import ClientError
s3 = boto3.client("s3", endpoint_url=${JSON.stringify(`${app.url}/storage`)}, aws_access_key_id="private",
  aws_secret_access_key=${JSON.stringify(KEYS.private)}, region_name="us-east-1",
  config=Config(signature_version="s3v4", retries={"max_attempts": 1}, read_timeout=50))
PART = 5 * 1024 * 1024
unread = []
for resend in ([0], [1], [0, 1]):
    up = s3.create_multipart_upload(Bucket="private", Key="mpu", ContentType="text/bla", Metadata={"foo": "bar"})
    parts, data = [], b""
    for i in range(2):
        part = os.urandom(PART if i == 0 else 1000)
        data += part
        etag = s3.upload_part(Bucket="private", Key="mpu", UploadId=up["UploadId"], PartNumber=i + 1, Body=part)["ETag"]
        if i in resend:
            etag = s3.upload_part(Bucket="private", Key="mpu", UploadId=up["UploadId"], PartNumber=i + 1, Body=part)["ETag"]
        parts.append({"ETag": etag, "PartNumber": i + 1})
    s3.complete_multipart_upload(Bucket="private", Key="mpu", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
    # As s3-tests does: look at the headers, never read the body; the next upload must not wait on it.
    got = s3.get_object(Bucket="private", Key="mpu")
    unread.append(got)
    assert got["ContentType"] == "text/bla", got["ContentType"]
    assert got["Metadata"] == {"foo": "bar"}, got["Metadata"]
    assert s3.get_object(Bucket="private", Key="mpu", Range="bytes=0-%d" % (len(data) - 1))["Body"].read() == data
s3.put_object(Bucket="private", Key="meta", Body=b"m", Metadata={"latin": "Hello World", "empty": ""})
head = s3.head_object(Bucket="private", Key="meta")
assert head["Metadata"] == {"latin": "Hello World", "empty": ""}, head["Metadata"]
try:
    s3.get_object(Bucket="private", Key="meta", IfNoneMatch=head["ETag"])
    raise SystemExit("expected 304")
except ClientError as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 304
s3.copy_object(Bucket="private", Key="meta", CopySource={"Bucket": "private", "Key": "meta"},
  MetadataDirective="REPLACE", Metadata={"new": "yes"})
assert s3.head_object(Bucket="private", Key="meta")["Metadata"] == {"new": "yes"}
# s3-tests' unreadable prefix: an empty listing that echoes the prefix, in V1 and V2.
v1 = s3.list_objects(Bucket="private", Prefix="\\x0a")
assert v1["Prefix"] == "\\x0a" and "Contents" not in v1, v1
v2 = s3.list_objects_v2(Bucket="private", Prefix="\\x0a")
assert v2["Prefix"] == "\\x0a" and v2["KeyCount"] == 0, v2
print("ok")
`;
    await writeFile(join(temp.dir, 's3tests.py'), script);
    const { stdout } = await runTool(python, ['s3tests.py'], { cwd: temp.dir });
    assert.equal(stdout.trim(), 'ok');
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
