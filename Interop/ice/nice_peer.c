/*
 * libnice (an independent ICE agent, Debian's libnice-dev) against Warren's ICE agent on loopback.
 *
 *   nice_peer DIR controlling|controlled
 *
 * Gathers host candidates on 127.0.0.1 only (UPnP off: Debian's libnice would otherwise send SSDP
 * multicast beyond the machine), writes DIR/peer.json (credentials and candidates, the format of
 * aioice_peer.py), then reads Warren's credentials and candidates from standard input as lines
 *
 *   credentials UFRAG PWD
 *   candidate IP PORT PRIORITY FOUNDATION
 *   end
 *
 * (run.sh converts DIR/warren.json), connects, sends "nice-hello" over the selected pair and waits
 * for "warren-hello". Exits 0 on success, 1 on any failure or after 20 s.
 */
#include <nice/agent.h>
#include "nice_candidates.h"
#include <glib.h>
#include <stdio.h>
#include <string.h>

static GMainLoop *loop;
static NiceAgent *agent;
static guint stream_id;
static const char *directory;
static gboolean controlling;
static gboolean received_greeting;
static gboolean ready;
static gint64 started_us;
static int exit_code = 1;

/* DIR/peer.json, written to a temporary name and renamed so that the reader never sees half. */
static gboolean write_description(void) {
  gchar *ufrag = NULL, *pwd = NULL;
  if (!nice_agent_get_local_credentials(agent, stream_id, &ufrag, &pwd)) return FALSE;
  GString *json = g_string_new(NULL);
  g_string_append_printf(json, "{\"ufrag\": \"%s\", \"pwd\": \"%s\", \"candidates\": [", ufrag, pwd);
  GSList *candidates = nice_agent_get_local_candidates(agent, stream_id, 1);
  gboolean first = TRUE;
  for (GSList *item = candidates; item; item = item->next) {
    NiceCandidate *candidate = item->data;
    gchar ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&candidate->addr, ip);
    if (candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP) continue;
    g_string_append_printf(json, "%s{\"ip\": \"%s\", \"port\": %u, \"priority\": %u, \"foundation\": \"%s\", \"type\": \"%s\"}",
                           first ? "" : ", ", ip, nice_address_get_port(&candidate->addr), candidate->priority,
                           candidate->foundation, candidate_type_name(candidate->type));
    first = FALSE;
  }
  g_string_append(json, "]}\n");
  g_slist_free_full(candidates, (GDestroyNotify)nice_candidate_free);
  gchar *temporary = g_build_filename(directory, "peer.json.tmp", NULL);
  gchar *final = g_build_filename(directory, "peer.json", NULL);
  gboolean written = g_file_set_contents(temporary, json->str, -1, NULL) && rename(temporary, final) == 0;
  g_free(temporary);
  g_free(final);
  g_string_free(json, TRUE);
  g_free(ufrag);
  g_free(pwd);
  return written;
}

/* Warren's credentials and candidates, as run.sh writes them to standard input. */
static gboolean read_remote(void) {
  char line[512];
  GSList *candidates = NULL;
  gboolean have_credentials = FALSE;
  while (fgets(line, sizeof line, stdin)) {
    char ufrag[257], pwd[257], ip[64], foundation[NICE_CANDIDATE_MAX_FOUNDATION];
    unsigned port, priority;
    if (sscanf(line, "credentials %256s %256s", ufrag, pwd) == 2) {
      have_credentials = nice_agent_set_remote_credentials(agent, stream_id, ufrag, pwd);
    } else if (sscanf(line, "candidate %63s %u %u %32s", ip, &port, &priority, foundation) == 4) {
      NiceCandidate *candidate = remote_candidate(stream_id, NICE_CANDIDATE_TYPE_HOST, ip, port, priority, foundation);
      if (candidate) candidates = g_slist_append(candidates, candidate);
    } else if (strncmp(line, "end", 3) == 0) {
      break;
    }
  }
  int added = candidates ? nice_agent_set_remote_candidates(agent, stream_id, 1, candidates) : 0;
  g_slist_free_full(candidates, (GDestroyNotify)nice_candidate_free);
  return have_credentials && added > 0;
}

static void send_greeting(void) {
  static const char greeting[] = "nice-hello";
  nice_agent_send(agent, stream_id, 1, sizeof greeting - 1, greeting);
}

static gboolean quit(gpointer data) {
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

static void finish_if_done(void) {
  if (ready && received_greeting) {
    printf("libnice (%s): connected in %.1f ms and exchanged datagrams with Warren\n",
           controlling ? "controlling" : "controlled", (g_get_monotonic_time() - started_us) / 1000.0);
    exit_code = 0;
    /* Keep answering for a moment so that Warren receives our greeting before we close. */
    for (int i = 0; i < 5; i++) send_greeting();
    g_timeout_add(300, quit, NULL);
  }
}

static void on_gathering_done(NiceAgent *self, guint stream, gpointer data) {
  if (!write_description() || !read_remote()) {
    fprintf(stderr, "libnice: could not exchange credentials and candidates with Warren\n");
    g_main_loop_quit(loop);
    return;
  }
  started_us = g_get_monotonic_time();
}

static void on_state_changed(NiceAgent *self, guint stream, guint component, guint state, gpointer data) {
  if (state == NICE_COMPONENT_STATE_READY && !ready) {
    ready = TRUE;
    send_greeting();
    finish_if_done();
  } else if (state == NICE_COMPONENT_STATE_FAILED) {
    fprintf(stderr, "libnice: connectivity checks failed\n");
    g_main_loop_quit(loop);
  }
}

static void on_receive(NiceAgent *self, guint stream, guint component, guint length, gchar *bytes, gpointer data) {
  if (length == strlen("warren-hello") && memcmp(bytes, "warren-hello", length) == 0 && !received_greeting) {
    received_greeting = TRUE;
    if (ready) send_greeting();
    finish_if_done();
  }
}

static gboolean on_timeout(gpointer data) {
  fprintf(stderr, "libnice: no connection and greeting within 20 s (ready %d, greeting %d)\n", ready, received_greeting);
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[2], "controlling") != 0 && strcmp(argv[2], "controlled") != 0)) {
    fprintf(stderr, "usage: %s DIR controlling|controlled\n", argv[0]);
    return 2;
  }
  directory = argv[1];
  controlling = strcmp(argv[2], "controlling") == 0;
  loop = g_main_loop_new(NULL, FALSE);
  agent = nice_agent_new_full(g_main_loop_get_context(loop), NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_REGULAR_NOMINATION);
  g_object_set(agent, "upnp", FALSE, "controlling-mode", controlling, NULL);
  NiceAddress loopback;
  nice_address_init(&loopback);
  nice_address_set_from_string(&loopback, "127.0.0.1");
  nice_agent_add_local_address(agent, &loopback);
  g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), NULL);
  g_signal_connect(agent, "component-state-changed", G_CALLBACK(on_state_changed), NULL);
  stream_id = nice_agent_add_stream(agent, 1);
  nice_agent_attach_recv(agent, stream_id, 1, g_main_loop_get_context(loop), on_receive, NULL);
  if (!nice_agent_gather_candidates(agent, stream_id)) {
    fprintf(stderr, "libnice: gathering failed\n");
    return 1;
  }
  g_timeout_add_seconds(20, on_timeout, NULL);
  g_main_loop_run(loop);
  g_object_unref(agent);
  g_main_loop_unref(loop);
  return exit_code;
}
