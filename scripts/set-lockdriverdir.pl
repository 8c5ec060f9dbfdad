#!/usr/bin/perl
# Writes the built-in lock-driver directory into an installed libvirtcore.so or .a.
#
#   set-lockdriverdir.pl FILE DIR
#
# The library keeps the directory in a fixed-size record (src/locking/builtin_dir.rs): the
# magic "@VIRTCORE_LOCKDRIVERDIR@=", the path, NUL padding, 4096 bytes in all. Every
# well-formed record in FILE is overwritten with one for DIR, of the same length, so no
# offset in the ELF file or the ar archive changes. The result is written to a temporary
# file and renamed over FILE. Perl because it is always there (perl-base is essential in
# Debian) and `make install` may run under sudo with no Rust or Python around.
use strict;
use warnings;

my ($file, $dir) = @ARGV;
die "usage: set-lockdriverdir.pl FILE DIR\n" unless defined $dir && @ARGV == 2;
my $magic = '@VIRTCORE_LOCKDRIVERDIR@=';
my $len = 4096;
die "set-lockdriverdir: LOCKDRIVERDIR '$dir' must be an absolute path\n" unless $dir =~ m{^/};
die "set-lockdriverdir: LOCKDRIVERDIR '$dir' contains a NUL or newline\n" if $dir =~ /[\0\n]/;
my $room = $len - length($magic) - 1;
die "set-lockdriverdir: LOCKDRIVERDIR '$dir' is longer than $room bytes\n"
    if length($dir) > $room;

open(my $in, '<:raw', $file) or die "set-lockdriverdir: cannot read '$file': $!\n";
my $data = do { local $/; <$in> };
close($in);

my $new = $magic . $dir . ("\0" x ($len - length($magic) - length($dir)));
my $count = 0;
my $at = 0;
while ((my $pos = index($data, $magic, $at)) >= 0) {
    my $rec = substr($data, $pos, $len);
    # Well formed: a path without NUL, then only NULs to the end of the record.
    if (length($rec) == $len && $rec =~ /\A\Q$magic\E\/[^\0]*\0+\z/) {
        substr($data, $pos, $len) = $new;
        $count++;
        $at = $pos + $len;
    } else {
        $at = $pos + 1;
    }
}
die "set-lockdriverdir: no lock-driver directory record in '$file' (not a virtcore library?)\n"
    unless $count;

my $tmp = "$file.setdir.$$";
open(my $out, '>:raw', $tmp) or die "set-lockdriverdir: cannot write '$tmp': $!\n";
my $ok = print {$out} $data;
$ok = close($out) && $ok;
unless ($ok) { unlink($tmp); die "set-lockdriverdir: cannot write '$tmp': $!\n"; }
chmod((stat($file))[2] & 07777, $tmp) or do { unlink($tmp); die "set-lockdriverdir: chmod '$tmp': $!\n" };
rename($tmp, $file) or do { unlink($tmp); die "set-lockdriverdir: cannot rename to '$file': $!\n" };
