#!/usr/bin/perl
# ingest-list.pl DOCS - the documents of DOCS as make variables, for
# ingest.mk: reads NUL-separated paths (find -print0) and writes
#   DOC_KEYS += KEY
#   src_KEY := 'the path, quoted for the shell'
# KEY is the path below DOCS with every byte outside [A-Za-z0-9._/-]
# written as +XX, so that any file name is a make target.
use strict;
use warnings;

my $docs = shift // die "usage: ingest-list.pl DOCS\n";
$docs =~ s{/+$}{};
local $/ = "\0";
while (my $path = <STDIN>) {
    chomp $path;
    if ($path =~ /\n/) {
        print STDERR "ingest.mk: skipped a file name with a newline in it: $path\n";
        next;
    }
    my $rel = $path;
    $rel =~ s{^\Q$docs\E/+}{};
    (my $key = $rel) =~ s{([^A-Za-z0-9._/-])}{sprintf("+%02X", ord $1)}ge;
    $key =~ s{(^|/)\.}{$1+2E}g;   # no hidden or ".." components
    (my $q = $path) =~ s/'/'\\''/g;
    $q = "'$q'";
    $q =~ s/\$/\$\$/g;
    $q =~ s/#/\\#/g;
    print "DOC_KEYS += $key\nsrc_$key := $q\n";
}
