# app.pl - a Perl worker's working set: records parsed from CSV into
# hashes, indexes, rendered strings.   perl app.pl DATADIR
use strict;
use warnings;
my $d = $ARGV[0];
open(my $f, "<", "$d/data.csv") or die "$d/data.csv: $!";
my $h = <$f>;
chomp $h;
my @cols = split /,/, $h;
my (@rows, %by_login, %by_city, %by_tag);
while (my $l = <$f>) {
	chomp $l;
	my %r;
	@r{@cols} = split /,/, $l, -1;
	$r{tags} = [split /;/, $r{tags}];
	push @rows, \%r;
	$by_login{$r{login}} = \%r;
	push @{$by_city{$r{city}}}, $r{id};
	$by_tag{$_}{$r{id}} = 1 for @{$r{tags}};
}
close $f;
my @pages = map { sprintf("<li><b>%s</b> &lt;%s&gt; (%s, %d) %s [%s]</li>", $_->{name},
		$_->{email}, $_->{city}, $_->{age}, $_->{bio}, join(", ", @{$_->{tags}})) } @rows;
my $report = join("\n", @pages[0 .. 4999]);
$| = 1;
print "ready ", scalar(@rows), " ", scalar(@pages), "\n";
$SIG{TERM} = sub { exit 0 };
sleep 3600 while 1;
