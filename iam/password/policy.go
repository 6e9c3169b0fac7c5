package password

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Length limits, counted in characters (runes), not bytes.
const (
	MinLength = 10
	MaxLength = 128
	// MinDistinct rejects passwords like "aaaaaaaaaa" or "abababababab".
	MinDistinct = 5
)

// Policy violations returned by Check. Their messages are written for the
// person choosing the password and are safe to show as-is.
var (
	ErrTooShort      = errors.New("must be at least 10 characters")
	ErrTooLong       = errors.New("must be at most 128 characters")
	ErrIsEmail       = errors.New("must not be your email address or its name part")
	ErrTooCommon     = errors.New("is too common; choose something less predictable")
	ErrTooRepetitive = errors.New("must contain at least 5 different characters")
)

// Check applies the strength policy to a new password for the user with the
// given email (which may be empty). It returns nil or one of the Err values
// above, the first rule that fails.
func Check(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	}
	lower := strings.ToLower(strings.TrimSpace(password))
	if email = strings.ToLower(strings.TrimSpace(email)); email != "" {
		local, _, _ := strings.Cut(email, "@")
		if lower == email || lower == local {
			return ErrIsEmail
		}
	}
	if _, ok := common[lower]; ok {
		return ErrTooCommon
	}
	distinct := map[rune]struct{}{}
	for _, r := range password {
		distinct[r] = struct{}{}
	}
	if len(distinct) < MinDistinct {
		return ErrTooRepetitive
	}
	return nil
}

// common holds very common passwords of at least MinLength characters, lower
// case (shorter ones already fail the length rule). It is a speed bump against
// the first guesses of an online attack, not a breach corpus.
var common = func() map[string]struct{} {
	m := make(map[string]struct{}, len(commonList))
	for _, p := range commonList {
		m[p] = struct{}{}
	}
	return m
}()

var commonList = []string{
	"1234567890", "12345678910", "123456789a", "123456789q", "0123456789",
	"0987654321", "9876543210", "1111111111", "0000000000", "1122334455",
	"1234512345", "1231231231", "1212121212", "1q2w3e4r5t", "1q2w3e4r5t6y",
	"1qaz2wsx3edc", "1qazxsw23edc", "1qaz@wsx3edc", "zaq12wsxcde3", "zaq1zaq1zaq1",
	"q1w2e3r4t5", "q1w2e3r4t5y6", "a1b2c3d4e5", "a1s2d3f4g5", "abc1234567",
	"abcd123456", "abcdefghij", "abcdefghijk", "abcdefghijkl", "abcde12345",
	"qwertyuiop", "qwertyuiop123", "qwertyuiop1", "qwerty1234", "qwerty12345",
	"qwerty123456", "qwerty123!", "qwertyqwerty", "qwertzuiop", "azertyuiop",
	"asdfghjkl1", "asdfghjkl;", "asdfghjkl123", "asdfasdfasdf", "asdf123456",
	"zxcvbnm123", "zxcvbnm1234", "zxcvbnmasd", "qazwsxedcrfv", "qazwsxedc123",
	"1qaz2wsx3e", "poiuytrewq", "mnbvcxz123", "lkjhgfdsa1", "qweasdzxc1",
	"qweasdzxc123", "qweasd1234", "asdzxcqwe1", "qwe123qwe123", "1q2w3e4r5t!",
	"password12", "password123", "password1234", "password12345", "password123!",
	"password1!", "password!1", "password01", "password99", "password2020",
	"password2021", "password2022", "password2023", "password2024", "password2025",
	"password2026", "passw0rd123", "p@ssw0rd123", "p@ssword123", "p@ssw0rd12",
	"passwordpassword", "mypassword", "mypassword1", "mypassword123", "newpassword",
	"newpassword1", "newpassword123", "changeme123", "changeme12", "changemenow",
	"changeit123", "letmein123", "letmein1234", "letmeinnow", "letmein!23",
	"welcome123", "welcome1234", "welcome2024", "welcome2025", "welcome2026",
	"welcome@123", "welcomehome", "iloveyou12", "iloveyou123", "iloveyou1234",
	"iloveyou!!", "iloveyoutoo", "iloveyouforever", "trustno123", "trustno1trustno1",
	"administrator", "administrator1", "administrator123", "admin12345", "admin123456",
	"admin@1234", "admin@12345", "adminadmin", "adminadmin123", "rootroot123",
	"superuser1", "superadmin", "superadmin1", "supersecret", "supersecret1",
	"secret1234", "secret12345", "secretpassword", "topsecret1", "topsecret123",
	"default123", "defaultpassword", "guest12345", "testtest123", "test123456",
	"testing123", "testing1234", "testpassword", "temp123456", "temppassword",
	"football10", "football12", "football123", "footballer", "basketball",
	"basketball1", "basketball23", "baseball12", "baseball123", "soccer1234",
	"hockey1234", "volleyball", "skateboard", "snowboarding", "motorcycle",
	"liverpool1", "liverpool123", "manchester", "manchesterunited", "chelsea123",
	"arsenal123", "barcelona1", "realmadrid", "juventus123", "yankees123",
	"starwars12", "starwars123", "pokemon123", "minecraft1", "minecraft123",
	"fortnite123", "playstation", "playstation1", "nintendo64", "superman123",
	"batman1234", "spiderman1", "spiderman123", "ironman123", "harrypotter",
	"harrypotter1", "sunshine12", "sunshine123", "princess12", "princess123",
	"butterfly1", "butterfly123", "chocolate1", "chocolate123", "strawberry",
	"strawberry1", "blueberry1", "watermelon", "pineapple1", "cheesecake",
	"cookiemonster", "monkey1234", "dragon1234", "dragonfly1", "dragonball",
	"tigger1234", "pepper1234", "shadow1234", "master1234", "master12345",
	"michael123", "jennifer12", "jessica123", "charlie123", "jordan2323",
	"alexander1", "christopher", "christina1", "elizabeth1", "victoria12",
	"nicholas12", "sebastian1", "gabriella1", "anthony123", "danielle12",
	"qwerty2024", "qwerty2025", "summer2024", "summer2025", "winter2024",
	"winter2025", "spring2024", "autumn2024", "january2024", "december2024",
	"computer12", "computer123", "internet12", "internet123", "software123",
	"database123", "developer1", "developer123", "programmer", "hello12345",
	"hello123456", "helloworld", "helloworld1", "helloworld123", "goodmorning",
	"whatever123", "nothing123", "something1", "somethingelse", "letmein2024",
	"loveyou123", "lovelylove", "sweetheart", "sweetheart1", "babygirl12",
	"beautiful1", "angel12345", "friends123", "forever123", "freedom123",
	"blessed123", "jesus12345", "jesuschrist", "godisgood1", "heaven1234",
	"samsung123", "samsung1234", "iphone1234", "apple12345", "microsoft1",
	"google1234", "facebook123", "linkedin123", "twitter123", "instagram1",
	"rocketmq123", "orbit12345", "orbitorbit", "rabbitmq123", "kafka12345",
	"0102030405", "1029384756", "1357924680", "2468013579",
	"1472583690", "3692581470", "7894561230", "7418529630", "9638527410",
	"123qweasdzxc", "123qwe123qwe", "123abc123abc", "abc123abc123", "aaa111aaa111",
	"aaaaaaaaaa", "zzzzzzzzzz", "qqqqqqqqqq", "1q1q1q1q1q", "a1a1a1a1a1",
	"passpass12", "passpass123", "loginlogin", "login12345", "access1234",
	"access12345", "security123", "mysecret123", "opensesame", "opensesame1",
}
