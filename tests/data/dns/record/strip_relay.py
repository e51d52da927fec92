#!/usr/bin/python3
"""A man in the middle for SMTP: listens on the MX address of strip.test and
relays every connection to the real server, deleting the STARTTLS line from
each EHLO reply (a multi-line reply keeps a correct last line).  Everything
else passes unchanged in both directions.  Logs a transcript of what it
relayed and what it removed.

usage: strip_relay.py LISTEN_ADDR LISTEN_PORT SERVER_ADDR SERVER_PORT LOGFILE
"""
import asyncio
import re
import datetime
import sys

VERB = re.compile(rb'^[A-Za-z]{4}( |$)')


def log(f, conn, text):
    ts = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    f.write(f'{ts} [{conn}] {text}\n')
    f.flush()


def strip_starttls(lines):
    """lines: one complete multi-line reply (bytes, CRLF kept).  Returns the
    reply without STARTTLS and whether something was removed."""
    kept = [ln for ln in lines if ln[4:].strip().upper() != b'STARTTLS']
    if len(kept) == len(lines) or not kept:
        return lines, False
    last = kept[-1]
    kept[-1] = last[:3] + b' ' + last[4:]
    return kept, True


async def server_to_client(reader, writer, f, conn):
    reply = []
    while True:
        line = await reader.readline()
        if not line:
            break
        reply.append(line)
        if len(line) >= 4 and line[3:4] == b'-':
            continue                      # more lines of this reply follow
        out, removed = strip_starttls(reply) if len(reply) > 1 else (reply, False)
        for ln in reply:
            log(f, conn, 'S: ' + ln.decode('latin-1').rstrip('\r\n'))
        if removed:
            log(f, conn, 'relay: removed the STARTTLS line from this reply')
        writer.write(b''.join(out))
        await writer.drain()
        reply = []
    writer.close()


async def client_to_server(reader, writer, f, conn):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        for ln in data.split(b'\r\n'):
            if VERB.match(ln) or ln == b'.':      # commands only, not the message
                log(f, conn, 'C: ' + ln[:200].decode('latin-1'))
        writer.write(data)
        await writer.drain()
    writer.close()


async def main():
    laddr, lport, saddr, sport, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    f = open(logfile, 'a')

    async def handle(creader, cwriter):
        peer = cwriter.get_extra_info('peername')
        conn = f'{peer[0]}:{peer[1]}'
        log(f, conn, f'connection from {conn}, relaying to {saddr}:{sport}')
        sreader, swriter = await asyncio.open_connection(saddr, sport)
        await asyncio.gather(server_to_client(sreader, cwriter, f, conn),
                             client_to_server(creader, swriter, f, conn),
                             return_exceptions=True)
        log(f, conn, 'closed')

    srv = await asyncio.start_server(handle, laddr, lport)
    log(f, '-', f'listening on {laddr}:{lport}')
    async with srv:
        await srv.serve_forever()


if __name__ == '__main__':
    asyncio.run(main())
