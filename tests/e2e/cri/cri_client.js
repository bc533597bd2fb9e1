#!/usr/bin/env node
// A minimal CRI client for tests/e2e/test_cri: one RPC per run, like crictl.
//
//   node cri_client.js SOCKET Service.Method JSON_REQUEST [TIMEOUT_MS]
//
// Service is RuntimeService or ImageService (package runtime.v1, the subset in
// api.proto next to this file). On success the reply is printed as one line
// of JSON (field names as in the .proto, enums as names, 64-bit integers as
// strings, bytes as UTF-8 text) and the exit status is 0. A gRPC error prints
// {"code": N, "details": "..."} and exits 2; bad usage exits 64. The modules
// come from NODE_PATH (the build installs them under $(O)/tests/e2e/cri).
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

function usage(msg) {
    process.stderr.write(`cri_client: ${msg}\n` +
        'usage: cri_client.js SOCKET Service.Method JSON_REQUEST [TIMEOUT_MS]\n');
    process.exit(64);
}

// Buffers (bytes fields) become text so the C side can compare output.
function plain(v) {
    if (Buffer.isBuffer(v))
        return v.toString('utf8');
    if (Array.isArray(v))
        return v.map(plain);
    if (v && typeof v === 'object') {
        const o = {};
        for (const k of Object.keys(v))
            o[k] = plain(v[k]);
        return o;
    }
    return v;
}

function main(argv) {
    if (argv.length < 3 || argv.length > 4)
        usage('wrong number of arguments');
    const [socket, rpc, json, timeoutArg] = argv;
    const [service, method] = rpc.split('.');
    if (!['RuntimeService', 'ImageService'].includes(service) || !method)
        usage(`unknown RPC "${rpc}"`);
    let request;
    try {
        request = JSON.parse(json);
    } catch (e) {
        usage(`request is not JSON: ${e.message}`);
    }
    const timeoutMs = timeoutArg ? Number(timeoutArg) : 120000;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
        usage(`bad timeout "${timeoutArg}"`);

    const def = protoLoader.loadSync(path.join(__dirname, 'api.proto'), {
        keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(def).runtime.v1;
    if (typeof pkg[service].service[method] === 'undefined')
        usage(`${service} has no method ${method} in api.proto`);
    const client = new pkg[service](`unix://${socket}`, grpc.credentials.createInsecure(), {
        // containerd's CRI limits messages to 16 MiB; so do we.
        'grpc.max_receive_message_length': 16 << 20,
    });
    const deadline = new Date(Date.now() + timeoutMs);
    client[method](request, { deadline }, (err, reply) => {
        if (err) {
            process.stdout.write(JSON.stringify({ code: err.code, details: err.details }) + '\n');
            process.exitCode = 2;
        } else {
            process.stdout.write(JSON.stringify(plain(reply)) + '\n');
        }
        client.close();
    });
}

main(process.argv.slice(2));
